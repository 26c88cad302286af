"""convlstm_lib: the tested library behind the convlstm notebooks.

Packages in the order data flows through them; a module imports only its own stage and earlier
ones (tests/test_layout.py, docs/ARCHITECTURE.md):
    (top)        config, paths, errors, statuses, atomic, jsonio, progress, cli: what every stage shares
    data         MNIST digits -> N6/N3 sequences (or the course CSVs) -> windows, the four training sets
    models       the recurrent cells, the stack, SimVP, the refiner; `models.build.build_model`
    training     one model trained, scored, saved, loaded and used; devices, precision, runs side by side
    experiments  the sweep, Table 1, seed re-runs, the final model, the task study, robustness, floors
    report       results.json's schema, the notebooks' text and figures, the rendered report
"""
__version__ = "0.1.0"
