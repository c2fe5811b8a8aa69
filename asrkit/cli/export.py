"""`asrkit export`: write a model folder for deployment without PyTorch.

    asrkit export --model bible-en-ctc-small --format onnx --output exp/onnx_model
    asrkit decode --model exp/onnx_model -i a.wav -o hyp.jsonl        # onnxruntime, any decoding method

The folder holds config.json, tokenizer.model and am.mvn (as a PyTorch model folder does) and model.onnx
(features + lengths in, CTC log-probabilities out; dynamic batch and time). The export is checked: the
ONNX log-probabilities must equal PyTorch's (the largest difference is printed). See docs/export.md.
"""

from __future__ import annotations

import argparse
import sys

from asrkit.cli.argtypes import add_output

FORMATS = ("onnx",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a CTC model to ONNX", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", "-m", default=None, help="model folder or bundled name [the bundled demo model]")
    p.add_argument("--format", default="onnx", choices=FORMATS, help="[onnx]")
    # Checked in run(), so a missing folder is the same one UserError line as a bad one.
    add_output(p, "folder to write (required)", hidden=("--out",), required=False, default=None)
    p.add_argument("--opset", type=int, default=None, help="ONNX opset [17]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asrkit.errors import UserError
    from asrkit.export.onnx import OPSET, export_onnx

    if not args.output:
        raise UserError("--output FOLDER is required (the folder to write the exported model to)")
    info = export_onnx(args.model, args.output, opset=args.opset or OPSET)
    print(f"asrkit export: {info['onnx']} ({info['bytes'] / 1e6:.1f} MB, opset {info['opset']}); "
          f"max |log p ONNX - log p PyTorch| = {info['max_abs_diff']:.2e}", file=sys.stderr)
    return 0
