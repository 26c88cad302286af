"""Stage 4, the studies the report is made of: the sweep (space, storage, run, record), Table 1,
seed re-runs and the final model, the frame-4/16 task study, robustness, baselines and floors.
Imports the stages before it."""
