"""SUPERB evaluation through s3prl's own code: launcher, task preparation, runs and result parsing."""
