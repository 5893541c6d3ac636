#!/usr/bin/python3
"""Self-tests of the float64 reference: tiny-a goldens, fixture goldens, IO and config errors.

Run: /usr/bin/python3 -m unittest discover -s tools/reference -p 'test_*.py'   (about 3 s)
"""

import json
import os
import shutil
import struct
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gemma4_ref as ref  # noqa: E402
from safetensors_io import (SafetensorsError, quantize, read_checkpoint,  # noqa: E402
                            read_safetensors_file, write_safetensors_file,
                            write_sharded_checkpoint)

DATA = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "data")
FIXTURE_FOLDERS = [os.path.join(DATA, "tiny-a")] + sorted(
    os.path.join(DATA, "fixtures", name) for name in ("flat-gqa", "kv-eq", "sharded")
    if os.path.isdir(os.path.join(DATA, "fixtures", name)))


class GoldenTest(unittest.TestCase):
    def test_logits_and_hidden_match_goldens(self):
        for folder in FIXTURE_FOLDERS:
            config, tensors = ref.load_model(folder)
            with open(os.path.join(folder, "golden", "manifest.json")) as handle:
                manifest = json.load(handle)
            for sequence in manifest["sequences"]:
                logits, hidden = ref.forward(tensors, config, sequence["ids"])
                golden = np.fromfile(os.path.join(folder, "golden", sequence["logits"]), "<f4")
                golden = golden.reshape(sequence["logits_shape"])
                with self.subTest(folder=folder, sequence=sequence["name"]):
                    self.assertLess(np.max(np.abs(logits - golden)), 1e-5)
                    self.assertAlmostEqual(ref.top1_margin(logits), sequence["min_top1_margin"], 5)
                if "hidden" in sequence:
                    golden = np.fromfile(os.path.join(folder, "golden", sequence["hidden"]), "<f4")
                    golden = golden.reshape(sequence["hidden_shape"])
                    self.assertLess(np.max(np.abs(hidden - golden)), 1e-5)

    def test_prefix_logits_do_not_depend_on_later_tokens(self):
        config, tensors = ref.load_model(os.path.join(DATA, "tiny-a"))
        ids = [5, 17, 300, 42, 7, 8, 9, 10, 11, 12, 13]
        full, _ = ref.forward(tensors, config, ids)
        prefix, _ = ref.forward(tensors, config, ids[:6])
        np.testing.assert_allclose(full[:6], prefix, atol=1e-12)


class ConfigTest(unittest.TestCase):
    def test_default_layer_types_force_last_layer_full(self):
        config = ref.parse_config({"num_hidden_layers": 7})
        self.assertEqual(config.layer_types, ["sliding_attention"] * 5 + ["full_attention"] * 2)
        self.assertEqual(config.tensor_prefix, "model.")

    def test_nested_config_uses_top_level_tie_flag(self):
        config = ref.parse_config({"tie_word_embeddings": False, "text_config": {}})
        self.assertFalse(config.tie_word_embeddings)
        self.assertEqual(config.tensor_prefix, "model.language_model.")

    def test_kv_sharing_without_source_of_same_type_is_rejected(self):
        config = ref.parse_config({"num_hidden_layers": 7, "num_kv_shared_layers": 2})
        with self.assertRaisesRegex(ref.ReferenceError, "no earlier non-shared"):
            ref.kv_source_layer(config, 6)

    def test_shared_layers_read_last_layer_of_same_type(self):
        config = ref.load_config(os.path.join(DATA, "tiny-a"))
        sources = [ref.kv_source_layer(config, i) for i in range(config.num_hidden_layers)]
        self.assertEqual(sources, [0, 1, 2, 3, 4, 5, 5, 5, 5, 4])

    def test_proportional_rope_leaves_tail_pairs_unrotated(self):
        config = ref.parse_config({"num_hidden_layers": 1, "head_dim": 8, "global_head_dim": 16})
        inverse = ref.rope_inverse_frequencies(config, 0)
        self.assertEqual(len(inverse), 8)
        self.assertEqual(np.count_nonzero(inverse), 2)  # int(0.25 * 16 // 2)

    def test_layer_types_length_mismatch_is_rejected(self):
        with self.assertRaisesRegex(ref.ReferenceError, "layer_types"):
            ref.parse_config({"num_hidden_layers": 3, "layer_types": ["full_attention"]})


class SafetensorsTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.folder)

    def test_rewriting_tiny_a_reproduces_its_bytes(self):
        tensors = read_checkpoint(os.path.join(DATA, "tiny-a"))
        path = os.path.join(self.folder, "model.safetensors")
        write_safetensors_file(path, tensors, "BF16")
        again = read_safetensors_file(path)
        for name, value in tensors.items():
            np.testing.assert_array_equal(again[name], value)

    def test_bf16_rounds_to_nearest_even(self):
        values = np.array([1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8, 1.0 + 2 ** -9, -2.0 - 2 ** -8])
        np.testing.assert_array_equal(quantize(values, "BF16"), [1.0, 1.015625, 1.0, -2.0])

    def test_sharded_checkpoint_reads_back(self):
        rng = np.random.default_rng(0)
        tensors = {f"t{i}": rng.normal(size=(3, i + 1)) for i in range(5)}
        write_sharded_checkpoint(self.folder, tensors, "F32", 2)
        again = read_checkpoint(self.folder)
        self.assertEqual(sorted(again), sorted(tensors))
        for name in tensors:
            np.testing.assert_allclose(again[name], tensors[name], rtol=1e-7)

    def test_truncated_file_is_rejected(self):
        path = os.path.join(self.folder, "model.safetensors")
        write_safetensors_file(path, {"a": np.ones((4, 4))}, "F16")
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) - 2)
        with self.assertRaisesRegex(SafetensorsError, "data_offsets"):
            read_safetensors_file(path)

    def test_oversized_header_is_rejected(self):
        path = os.path.join(self.folder, "model.safetensors")
        with open(path, "wb") as handle:
            handle.write(struct.pack("<Q", 1 << 40) + b"{}")
        with self.assertRaisesRegex(SafetensorsError, "header size"):
            read_safetensors_file(path)


if __name__ == "__main__":
    unittest.main()
