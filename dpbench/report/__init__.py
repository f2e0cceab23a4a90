"""Reports: the SUPERB table (Markdown, CSV, LaTeX), pruning and training figures and one
self-contained HTML page, built from the results store and compression run folders."""
