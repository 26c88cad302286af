"""Stage 2, the networks: the recurrent cells, the stack and its heads, SimVP, the refiner, and the
one builder (`build.build_model`) every other stage uses. Imports the basics and `data`."""
