#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz targets into fuzz/corpus/<target>/ (committed).
Sources: tests/data (configs, the chat examples, tokenizer corpus lines) plus hand-made cases.
Run from anywhere: python3 fuzz/make_seeds.py"""
import json, os, struct

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = os.path.join(root, "tests", "data")
out_root = os.path.join(root, "fuzz", "corpus")


def write(target, name, content):
    d = os.path.join(out_root, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(content)


def read(*parts):
    with open(os.path.join(data, *parts), "rb") as f:
        return f.read()


def safetensors(tensors, pad=b""):
    """tensors: list of (name, dtype, shape, nbytes)."""
    header, offset = {}, 0
    for name, dtype, shape, nbytes in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode() + pad
    return struct.pack("<Q", len(text)) + text + bytes(offset)


# safetensors header
write("safetensors_header", "valid", safetensors([("a", "F32", [2, 3], 24), ("b", "BF16", [4], 8)]))
write("safetensors_header", "scalar_and_empty", safetensors([("s", "F16", [], 2), ("e", "I8", [0, 5], 0)]))
write("safetensors_header", "padded", safetensors([("x", "U8", [3], 3)], pad=b"   "))
write("safetensors_header", "truncated", safetensors([("a", "F32", [8], 32)])[:-5])
write("safetensors_header", "short", b"\x05\x00\x00")

# safetensors index (the fuzz target's folder holds a.safetensors {x, y} and b.safetensors {z})
write("safetensors_index", "valid", json.dumps(
    {"metadata": {"total_size": 30}, "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}))
write("safetensors_index", "one_shard", json.dumps({"weight_map": {"z": "b.safetensors"}}))
write("safetensors_index", "missing", json.dumps({"weight_map": {"x": "c.safetensors"}}))

# config.json
write("config_json", "tiny_a", read("tiny-a", "config.json"))
for fixture in ("flat-gqa", "kv-eq", "sharded"):
    write("config_json", fixture, read("fixtures", fixture, "config.json"))
write("config_json", "minimal", json.dumps({"model_type": "gemma4_text", "num_hidden_layers": 2, "hidden_size": 8,
                                            "intermediate_size": 16, "num_attention_heads": 2,
                                            "num_key_value_heads": 1, "head_dim": 4, "global_head_dim": 8,
                                            "vocab_size": 32, "hidden_size_per_layer_input": 0}))

# generation_config.json (first byte even) and config.json as the stop-token fallback (odd)
write("generation_config", "tiny_a", b"\x00" + read("tiny-a", "generation_config.json"))
write("generation_config", "greedy", b"\x00" + json.dumps({"do_sample": False, "eos_token_id": [1, 106], "top_k": 0}).encode())
write("generation_config", "model_config", b"\x01" + read("tiny-a", "config.json"))

# tokenizer.json: small synthetic tokenizers (never the 32 MB one)
write("tokenizer_json", "tiny_a", read("tiny-a", "tokenizer.json"))


def tokenizer(vocab, merges, added=(), byte_fallback=True, unk="<unk>"):
    return json.dumps({
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious"},
        "added_tokens": [{"id": i, "content": c, "special": s} for i, c, s in added],
        "model": {"type": "BPE", "vocab": vocab, "merges": merges, "unk_token": unk,
                  "byte_fallback": byte_fallback, "dropout": None}})


small = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<|turn>": 4,
         "a": 5, "b": 6, "ab": 7, "\u2581": 8, "\u2581ab": 9, "<0x41>": 10, "<0xFF>": 11}
write("tokenizer_json", "small", tokenizer(small, [["a", "b"], ["\u2581", "ab"]],
                                         [(0, "<pad>", True), (1, "<eos>", True), (2, "<bos>", True),
                                          (3, "<unk>", True), (4, "<|turn>", True)]))
write("tokenizer_json", "legacy_merges", tokenizer({"<unk>": 0, "x": 1, "y": 2, "xy": 3}, ["x y"], byte_fallback=False))

# tokenizer round trip: corpus lines and a few edge cases
with open(os.path.join(data, "tokenizer", "corpus.jsonl"), encoding="utf-8") as f:
    lines = [json.loads(line)["text"] for line in f if line.strip()]
for i, text in enumerate(lines[::25]):
    write("tokenizer_roundtrip", "corpus_%02d" % i, text)
write("tokenizer_roundtrip", "invalid_utf8", b"ok \xff\xfe \xe2\x82 \xc0\x80 end")
write("tokenizer_roundtrip", "specials", "<bos><|turn>user\nHi<turn|>\n<|turn>model\n")

# chat template: the captured examples' inputs
with open(os.path.join(data, "tokenizer", "examples.json"), encoding="utf-8") as f:
    examples = json.load(f)
for i, example in enumerate(examples):
    write("chat_template", "example_%d" % i, json.dumps(example["input"]))

# output parser: first byte odd = the prompt ends inside a thought channel
write("output_parser", "plain", b"\x00Hello there.<turn|>")
write("output_parser", "thought", b"\x00<|channel>thought\nLet me think.<channel|>The answer is 4.<turn|>")
write("output_parser", "tool_call", b"\x02<|tool_call>call:get_weather{location:<|\"|>Paris<|\"|>,days:3,"
      b"units:[<|\"|>C<|\"|>],x:{y:1.5,z:null}}<tool_call|><|tool_response>")
write("output_parser", "in_reasoning", b"\x01still thinking<channel|>done<eos>")
write("output_parser", "truncated", b"\x00<|tool_call>call:f{a:<|\"|>open")

# tool DSL values and call bodies
write("tool_dsl", "object", "{location:<|\"|>Paris<|\"|>,days:3,ok:true,none:null,ratio:-0.25}")
write("tool_dsl", "nested", "{a:[1,2,{b:<|\"|>x, y<|\"|>}],\"c\":\"json \\u00e9\",<|\"|>q<|\"|>:1e3}")
write("tool_dsl", "call", "call:search{query:<|\"|>gemma 4<|\"|>,limit:10}")
write("tool_dsl", "bare_words", "{city: New York, n: 12abc}")
# server request bodies (/v1/chat/completions and /v1/completions)
write("server_request", "chat", json.dumps({"model": "gemma4", "messages": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": "Hi"}], "max_tokens": 16, "temperature": 0.7,
                                           "top_p": 0.9, "stop": ["\n\n"], "seed": 3, "stream": True}))
write("server_request", "tools", json.dumps({"messages": [{"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather",
     "arguments": "{\"city\": \"Paris\"}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "18 C"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
     "properties": {"city": {"type": "string"}}, "required": ["city"]}}}], "tool_choice": "auto"}))
write("server_request", "completion_text", json.dumps({"prompt": "Once upon a time", "max_tokens": 8, "logprobs": 2}))
write("server_request", "completion_ids", json.dumps({"prompt": [[2, 9259, 236764]], "logit_bias": {"1": -100}}))
print("seeds written to", out_root)
