"""Stage 1, the data: MNIST digits -> N6/N3 sequences (or the course's CSVs) -> windows, the four
training sets and corrupted inputs. Imports only the basics at the package's top."""
