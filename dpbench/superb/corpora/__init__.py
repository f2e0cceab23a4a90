"""Corpus adapters, one module per corpus: each checks a corpus's layout (real or synthetic alike) and
writes the views, metadata and lists s3prl's task code reads but its pip package lacks. None imports
s3prl (that is `dpbench.superb.backend`'s job); functions that need an s3prl helper take it as an argument."""
