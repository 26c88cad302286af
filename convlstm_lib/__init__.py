"""convlstm_lib: the tested helper library behind the convlstm notebooks.

Modules, in the order data flows through them:
    paths, config         where things live; the profiles every notebook is run with
    digits, generator     MNIST digits -> N6/N3 sequences with ground truth
    course_io, calibration  the course CSV format; the data statistics of SPEC §1
    preprocessing, datasets scaling, outliers, denoising, windows, the four training sets
    corruption, metrics   the robustness corruptions; MSE/PSNR/SSIM and the paper's convention
    cells, model, simvp   the recurrent cells (Equation 2 and cheaper ones), the stack and fused
                          ConvLSTM, a SimVP-style model; `model.build_model` picks by name
    precision, training, baselines, predict   fp32/bf16, the training loop, references
    sweep, report         the Optuna random search; results.json and the rendered report
    seeds, multirun, final  re-runs with other seeds, side by side; the final model
"""
__version__ = "0.1.0"
