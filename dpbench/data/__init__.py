"""Audio data for dpbench: loading, manifests and duration batching for compression, and synthetic
corpora (espeak-ng) written in the on-disk layouts of LibriSpeech, Speech Commands, Fluent Speech
Commands, VoxCeleb1 and IEMOCAP."""

from dpbench.data.audio import SAMPLE_RATE, AudioError, load_audio

__all__ = ["SAMPLE_RATE", "AudioError", "load_audio"]
