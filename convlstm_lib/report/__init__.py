"""Stage 5, the report: results.json, tables and figures for the notebooks, the rendered HTML and PDF.
Imports every stage before it; nothing imports it but the notebooks and run_all.py."""
