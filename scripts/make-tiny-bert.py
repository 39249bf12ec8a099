#!/usr/bin/python3
"""Writes a tiny, randomly initialised BERT-like model that transformers.js can load offline:
config.json, tokenizer.json (WordPiece, BERT *cased* normalisation), tokenizer_config.json,
vocab.txt and onnx/model.onnx (inputs input_ids / attention_mask / token_type_ids, output
last_hidden_state) and model.safetensors: the same weights under Hugging Face BertModel names
(PyTorch layout: Linear weights [out, in]) plus a random pooler, which the tfjs encoder
(src/text/classifier/bert-tfjs.ts) loads. Used to test the `bert` encoder without any download
(FACTS.md).

The vocabulary is a reduced bert-base-cased vocabulary: the special tokens, every Latin single
character and its ##-continuation, then the first --vocab-size whole tokens in the original order
(roughly by frequency). The tokenizer files describe exactly this vocabulary, so tokenisation stays
consistent (rarer words split into more pieces than with the full vocabulary).

Run with Debian's python (it has onnx + numpy):
  /usr/bin/python3 scripts/make-tiny-bert.py --vocab ../shared/data/bert/bert-base-cased-vocab.txt \
      --out test/fixtures/tiny-bert
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def reduced_vocab(vocab_path, size):
    with open(vocab_path, encoding="utf-8") as f:
        full = [line.rstrip("\n") for line in f]
    keep = list(SPECIALS)
    seen = set(keep)

    def add(tok):
        if tok not in seen:
            seen.add(tok)
            keep.append(tok)

    singles = [t for t in full if len(t) == 1 and ord(t) <= 0x24F]
    for t in singles:
        add(t)
    full_set = set(full)
    for t in singles:
        if "##" + t in full_set:
            add("##" + t)
    for t in full:
        if len(keep) >= size:
            break
        if t.startswith("[") and t.endswith("]"):
            continue
        body = t[2:] if t.startswith("##") else t
        if len(body) == 1 or any(ord(c) > 0x24F for c in body):
            continue
        add(t)
    return keep


def tokenizer_json(vocab, max_len):
    ids = {t: i for i, t in enumerate(vocab)}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for t in SPECIALS
        ],
        # bert-base-cased: no lowercasing, accents kept.
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": False},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [ids["[CLS]"]], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [ids["[SEP]"]], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


class Builder:
    def __init__(self, rng, std=0.2):
        self.rng, self.std = rng, std
        self.nodes, self.inits = [], []
        self.n = 0
        # Hugging Face name -> array in PyTorch layout, for model.safetensors
        self.hf = {}

    def name(self, p):
        self.n += 1
        return f"{p}_{self.n}"

    def weight(self, shape, value=None, hf=None, linear=False):
        arr = value if value is not None else (self.rng.standard_normal(shape) * self.std).astype(np.float32)
        nm = self.name("w")
        if hf:
            # ONNX MatMul takes [in, out]; torch.nn.Linear stores [out, in]
            self.hf[hf] = np.ascontiguousarray(np.asarray(arr, np.float32).T if linear else np.asarray(arr, np.float32))
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def const_i64(self, values):
        nm = self.name("c")
        self.inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), nm))
        return nm

    def const_f(self, value):
        nm = self.name("f")
        self.inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), nm))
        return nm

    def op(self, op_type, inputs, out=None, **attrs):
        out = out or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def dense(self, x, d_in, d_out, hf):
        w = self.weight((d_in, d_out), hf=hf + ".weight", linear=True)
        return self.op("Add", [self.op("MatMul", [x, w]), self.weight((d_out,), np.zeros(d_out, np.float32), hf=hf + ".bias")])

    def layer_norm(self, x, d, hf, out=None):
        mean = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        xc = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Mul", [xc, xc])], axes=[-1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.const_f(1e-12)])])
        y = self.op("Div", [xc, std])
        g = self.weight((d,), np.ones(d, np.float32), hf=hf + ".weight")
        b = self.weight((d,), np.zeros(d, np.float32), hf=hf + ".bias")
        return self.op("Add", [self.op("Mul", [y, g]), b], out=out)


def build_model(vocab_size, hidden, layers, heads, inter, max_pos, seed):
    b = Builder(np.random.default_rng(seed))
    dh = hidden // heads
    word = b.op("Gather", [b.weight((vocab_size, hidden), hf="embeddings.word_embeddings.weight"), "input_ids"], axis=0)
    tt = b.op("Gather", [b.weight((2, hidden), hf="embeddings.token_type_embeddings.weight"), "token_type_ids"], axis=0)
    seq_len = b.op("Gather", [b.op("Shape", ["input_ids"]), b.const_i64(1)], axis=0)
    pos_ids = b.op("Range", [b.const_i64(0), seq_len, b.const_i64(1)])
    pos = b.op("Gather", [b.weight((max_pos, hidden), hf="embeddings.position_embeddings.weight"), pos_ids], axis=0)
    x = b.layer_norm(b.op("Add", [b.op("Add", [word, tt]), pos]), hidden, "embeddings.LayerNorm")
    # additive mask: 0 where attended, -10000 at padding, shaped [B, 1, 1, T]
    m = b.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = b.op("Mul", [b.op("Sub", [b.const_f(1.0), m]), b.const_f(-10000.0)])
    bias = b.op("Unsqueeze", [bias, b.const_i64([1, 2])])
    split_shape = b.const_i64([0, 0, heads, dh])
    merge_shape = b.const_i64([0, 0, hidden])
    scale = b.const_f(1.0 / np.sqrt(dh))
    for i in range(layers):
        L = f"encoder.layer.{i}."

        def heads_of(t):
            return b.op("Transpose", [b.op("Reshape", [t, split_shape])], perm=[0, 2, 1, 3])
        q = heads_of(b.dense(x, hidden, hidden, L + "attention.self.query"))
        k = b.op("Transpose", [b.op("Reshape", [b.dense(x, hidden, hidden, L + "attention.self.key"), split_shape])], perm=[0, 2, 3, 1])
        v = heads_of(b.dense(x, hidden, hidden, L + "attention.self.value"))
        scores = b.op("Add", [b.op("Mul", [b.op("MatMul", [q, k]), scale]), bias])
        ctx = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
        ctx = b.op("Reshape", [b.op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = b.layer_norm(b.op("Add", [x, b.dense(ctx, hidden, hidden, L + "attention.output.dense")]), hidden, L + "attention.output.LayerNorm")
        h = b.dense(x, hidden, inter, L + "intermediate.dense")
        gelu = b.op("Mul", [b.op("Mul", [h, b.const_f(0.5)]),
                            b.op("Add", [b.const_f(1.0), b.op("Erf", [b.op("Div", [h, b.const_f(np.sqrt(2.0))])])])])
        last = i == layers - 1
        x = b.layer_norm(b.op("Add", [x, b.dense(gelu, inter, hidden, L + "output.dense")]), hidden, L + "output.LayerNorm",
                         out="last_hidden_state" if last else None)
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch_size", "sequence_length"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch_size", "sequence_length", hidden])]
    graph = helper.make_graph(b.nodes, "tiny_bert", inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="exp make-tiny-bert")
    model.ir_version = 8
    onnx.checker.check_model(model)
    # The pooler (tanh(W·h[CLS] + b)) is not in the ONNX graph; its own generator keeps the
    # ONNX weights independent of it.
    prng = np.random.default_rng(seed + 1)
    b.hf["pooler.dense.weight"] = (prng.standard_normal((hidden, hidden)) * b.std).astype(np.float32)
    b.hf["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    return model, b.hf


def write_safetensors(path, tensors):
    """The safetensors format: u64 little-endian header size, JSON header, raw little-endian data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for data in blobs:
            f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", required=True, help="bert-base-cased vocab.txt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab-size", type=int, default=3000)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=64)
    ap.add_argument("--max-position", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    vocab = reduced_vocab(a.vocab, a.vocab_size)
    os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
    with open(os.path.join(a.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, a.max_position), f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(a.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": False, "strip_accents": None,
                   "model_max_length": a.max_position, "cls_token": "[CLS]", "sep_token": "[SEP]",
                   "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
                   "clean_up_tokenization_spaces": True}, f, indent=2)
    with open(os.path.join(a.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump({"model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(vocab),
                   "hidden_size": a.hidden, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
                   "intermediate_size": a.intermediate, "hidden_act": "gelu",
                   "max_position_embeddings": a.max_position, "type_vocab_size": 2, "pad_token_id": 0,
                   "layer_norm_eps": 1e-12}, f, indent=2)
    model, hf = build_model(len(vocab), a.hidden, a.layers, a.heads, a.intermediate, a.max_position, a.seed)
    onnx.save(model, os.path.join(a.out, "onnx", "model.onnx"))
    write_safetensors(os.path.join(a.out, "model.safetensors"), hf)
    print(f"wrote {a.out}: vocab {len(vocab)}, hidden {a.hidden}, layers {a.layers}")


if __name__ == "__main__":
    main()
