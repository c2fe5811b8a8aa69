"""A short real CTC training run on espeak-ng speech, then save/load and decoding checks."""

import torch

from asrkit.models import CTCModel
from asrkit.train.trainer import Trainer
from decoders import ctc_greedy_search


def test_training_loss_falls(trained):
    _, trainer = trained
    losses = [h["train_loss"] for h in trainer.history]
    assert losses[-1] < 0.3 * losses[0]
    assert trainer.history[-1]["dev_loss"] < trainer.history[0]["dev_loss"]


def test_saved_model_reloads_identically(trained):
    folder, trainer = trained
    model = CTCModel.from_pretrained(folder / "exp" / "model")
    for name in ("config.json", "model.safetensors", "tokenizer.model", "am.mvn"):
        assert (folder / "exp" / "model" / name).exists()
    x = torch.randn(2, 30, 560)
    lens = torch.tensor([30, 20])
    trainer.model.eval()
    with torch.no_grad():
        a, _ = trainer.model(x, lens)
        b, _ = model(x, lens)
    torch.testing.assert_close(a, b)


def test_resume_continues_from_checkpoint(trained):
    folder, trainer = trained
    cfg = trainer.cfg
    again = Trainer(cfg, str(folder / "m.jsonl"), None, str(folder / "exp"), nj=1)
    assert again.resume()
    assert again.epoch == cfg.optim.epochs and again.step == trainer.step


def test_ctc_greedy_collapses_repeats_and_blanks():
    path = [0, 3, 3, 0, 3, 5, 5, 0, 0, 2]
    lp = torch.full((1, len(path), 6), -10.0)
    lp[0, torch.arange(len(path)), torch.tensor(path)] = 0.0
    assert ctc_greedy_search(lp, torch.tensor([len(path)])) == [[3, 3, 5, 2]]
    assert ctc_greedy_search(lp, torch.tensor([4])) == [[3]]


def test_init_from_earlier_run_and_stop_after_epoch(trained, tmp_path):
    folder, trainer = trained
    cfg = trainer.cfg
    exp = tmp_path / "cont"
    cont = Trainer(cfg, str(folder / "m.jsonl"), None, str(exp), nj=1, feats_dir=str(folder / "exp" / "feats"),
                   init=str(folder / "exp" / f"epoch-{cfg.optim.epochs}.pt"))
    # Units and CMVN are carried over, weights start where the earlier run ended.
    assert (exp / "tokenizer.model").read_bytes() == (folder / "exp" / "tokenizer.model").read_bytes()
    start = torch.load(folder / "exp" / f"epoch-{cfg.optim.epochs}.pt", weights_only=True)
    for k, v in cont.model.state_dict().items():
        torch.testing.assert_close(v, start[k])
    cont.train(stop_after_epoch=1)
    assert cont.epoch == 1 and (exp / "checkpoint.pt").exists() and not (exp / "model").exists()
