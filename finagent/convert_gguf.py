"""Convert the verified Qwen2.5 GGUF into a bf16 Hugging Face folder that vLLM 0.32 can serve.

Run by the vLLM venv's python (it needs that venv's transformers, gguf and torch), never imported by
the application: ``python convert_gguf.py --gguf FILE --out DIR``. vLLM 0.32 no longer loads GGUF, but
transformers dequantises it on load. The result is written to a temporary sibling folder, checked
against the GGUF-loaded model on a probe prompt, and only then renamed into place, so an interrupted
run never leaves a half-written model that looks ready.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

PROBE = "<|im_start|>user\nWhat is a savings account?<|im_end|>\n<|im_start|>assistant\n"


def convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    print(f"loading {gguf} (dequantising to bf16)", flush=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
    if not tokenizer.chat_template:
        raise SystemExit("the GGUF carries no chat template; refusing to write a model vLLM cannot chat with")
    # The weights are already dequantised; the marker would make save_pretrained/vLLM expect GGUF tensors.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    print(f"writing {staging}", flush=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)

    print("checking the written folder against the GGUF on a probe prompt", flush=True)
    saved = AutoModelForCausalLM.from_pretrained(staging, dtype=torch.bfloat16)
    reloaded_tokenizer = AutoTokenizer.from_pretrained(staging)
    ids = tokenizer(PROBE, return_tensors="pt").input_ids
    if reloaded_tokenizer(PROBE, return_tensors="pt").input_ids.tolist() != ids.tolist():
        raise SystemExit("the saved tokenizer encodes the probe differently from the GGUF tokenizer")
    with torch.no_grad():
        expected = model(ids).logits[0, -1].float()
        actual = saved(ids).logits[0, -1].float()
    if int(expected.argmax()) != int(actual.argmax()) or float((expected - actual).abs().max()) > 0.5:
        raise SystemExit("the saved weights do not reproduce the GGUF model's output; not installing them")

    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    print(f"wrote {out}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    convert(args.gguf.resolve(), args.out.resolve())


if __name__ == "__main__":
    main(sys.argv[1:])
