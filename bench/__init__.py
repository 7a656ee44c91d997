"""Benchmarks: each figure beside a raw baseline measured in the same run (`make bench`)."""
