"""s3prl-style upstream entries of a dpbench source checkout (see README.md here): pointers to the entry the
package ships, `dpbench.superb.backend.upstream`. Not part of the installed package."""
