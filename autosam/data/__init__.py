"""Data: one dataset abstraction over many sources, the benchmark registry, augmentation.

- Sources (:mod:`.spec`): a local folder (``images/`` + ``masks/``, or SUN-SEG ``Frame/`` + ``GT/``),
  ``hf:<repo>[@rev][:split][?image=..&mask=..]``, ``disk:<path>[:split]``, ``parquet:<glob>``;
  ``open_dataset(spec)`` gives a :class:`SegmentationDataset` of samples
  ``{"id", "image": uint8 H×W×3, "mask": bool H×W | None[, "case", "frame"]}``.
- Bad samples raise :class:`SampleError` naming the sample; ``validate()`` lists them,
  ``exclude(ids)`` drops them, ``skip_bad=True`` skips-and-logs during training.
- ``dataset_fingerprint(ds)``: Hub commit or a content hash, for protocol records.
- Benchmarks (:mod:`.registry`): JSON files; ``load_benchmark(name, split=None)``.
- Augmentation (:mod:`.augment`): ``make_view(image, mask, preset, seed)``, deterministic.
- Video frames follow ``autosam.metrics.video.sort_frames`` (the VPS order the metrics use).
- g's input geometry lives in :mod:`autosam.geometry` (letterbox, shared with SAM); ``pack_folder`` (:mod:`.pack`, ``autosam data pack``).
"""
from .augment import PRESETS, AugmentPreset, get_preset, make_view
from .base import (BadSample, ConcatDataset, DataSourceError, Sample, SampleError, SegmentationDataset,
                   SubsetDataset, dataset_fingerprint)
from .folder import FolderDataset, VideoFolderDataset, open_folder
from .hf import ColumnMap, HFDataset, from_disk, from_hub, from_parquet
from .registry import (BenchmarkSpec, BenchmarkUnavailableError, UnknownBenchmarkError, default_data_root,
                       get_benchmark, list_benchmarks, load_benchmark)
from .spec import DataSpec, open_dataset, parse_data_spec

__all__ = [
    "PRESETS", "AugmentPreset", "get_preset", "make_view",
    "BadSample", "ConcatDataset", "DataSourceError", "Sample", "SampleError", "SegmentationDataset",
    "SubsetDataset", "dataset_fingerprint",
    "FolderDataset", "VideoFolderDataset", "open_folder",
    "ColumnMap", "HFDataset", "from_disk", "from_hub", "from_parquet",
    "BenchmarkSpec", "BenchmarkUnavailableError", "UnknownBenchmarkError", "default_data_root",
    "get_benchmark", "list_benchmarks", "load_benchmark",
    "DataSpec", "open_dataset", "parse_data_spec",
]
