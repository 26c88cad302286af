"""Stage 3, one model: trained (`loop`), scored (`evaluation`, `metrics`), saved and loaded
(`checkpoints`), used (`predict`), several side by side (`multirun`). Imports the stages before it."""
