"""Study plans: one YAML file expands to the whole job graph (compressions, SUPERB runs, report),
run here or dispatched to Slurm; see dpbench/plans/study.yaml."""
