"""Known teacher names and the file names each checkpoint source (torchaudio, Hugging Face,
fairseq, s3prl's hub) gives them. Locating the files is `dpbench.teachers.resolve`'s job."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from dpbench.errors import DpbenchError

BUILTIN = "tiny-hubert"
# where s3prl's hub entries download from (s3prl/upstream/{hubert,wav2vec2,wavlm}/hubconf.py)
S3PRL_CONVERTED = "https://huggingface.co/s3prl/converted_ckpts/resolve/main/"
FAIR_HUBERT = "https://dl.fbaipublicfiles.com/hubert/"
FAIR_WAV2VEC = "https://dl.fbaipublicfiles.com/fairseq/wav2vec/"


@dataclass(frozen=True)
class TeacherName:
    """One teacher name and where each toolkit stores its checkpoint."""

    name: str
    torchaudio_file: str  # in $TORCH_HOME/hub/checkpoints
    hf_repo: str  # in $HF_HOME/hub/models--<org>--<name>/snapshots/<rev>/
    fairseq_file: str  # the file name the original release used
    s3prl_urls: tuple[str, ...]  # what s3prl's hub entry downloads (its converted file, then legacy=True's)

    @property
    def env_var(self) -> str:
        """Environment variable that may hold this teacher's checkpoint path."""
        return "DPBENCH_" + self.name.upper().replace("-", "_")

    @property
    def hf_cache_folder(self) -> str:
        return "models--" + self.hf_repo.replace("/", "--")

    @property
    def s3prl_cache_files(self) -> tuple[str, ...]:
        """File names in s3prl's download folder: sha256 of the URL, a dot, the URL's base name
        (s3prl.util.download._urls_to_filepaths)."""
        return tuple(f"{hashlib.sha256(url.encode()).hexdigest()}.{PurePosixPath(url).name}" for url in self.s3prl_urls)

    @property
    def file_names(self) -> tuple[str, ...]:
        """Names accepted inside a plain checkpoint folder (DPBENCH_CHECKPOINTS)."""
        return (f"{self.name}.pt", self.torchaudio_file, self.fairseq_file)


_TABLE = (  # name, torchaudio file, Hugging Face repo, fairseq file, s3prl URLs
    (
        "hubert_base",
        "hubert_fairseq_base_ls960.pth",
        "facebook/hubert-base-ls960",
        "hubert_base_ls960.pt",
        (S3PRL_CONVERTED + "hubert_base_ls960.pt", FAIR_HUBERT + "hubert_base_ls960.pt"),
    ),
    (
        "hubert_large",
        "hubert_fairseq_large_ll60k.pth",
        "facebook/hubert-large-ll60k",
        "hubert_large_ll60k.pt",
        (S3PRL_CONVERTED + "hubert_large_ll60k.pt", FAIR_HUBERT + "hubert_large_ll60k.pt"),
    ),
    (
        "wav2vec2_base",
        "wav2vec2_fairseq_base_ls960.pth",
        "facebook/wav2vec2-base",
        "wav2vec_small.pt",
        (S3PRL_CONVERTED + "wav2vec_small.pt", FAIR_WAV2VEC + "wav2vec_small.pt"),
    ),
    (
        "wav2vec2_large",
        "wav2vec2_fairseq_large_lv60k.pth",
        "facebook/wav2vec2-large-lv60",
        "wav2vec_vox_new.pt",
        (S3PRL_CONVERTED + "wav2vec_vox_new.pt", FAIR_WAV2VEC + "wav2vec_vox_new.pt"),
    ),
    ("wavlm_base", "wavlm_base.pth", "microsoft/wavlm-base", "WavLM-Base.pt", (S3PRL_CONVERTED + "wavlm_base.pt",)),
    (
        "wavlm_base_plus",
        "wavlm_base_plus.pth",
        "microsoft/wavlm-base-plus",
        "WavLM-Base+.pt",
        (S3PRL_CONVERTED + "wavlm_base_plus.pt",),
    ),
    (
        "wavlm_large",
        "wavlm_large.pth",
        "microsoft/wavlm-large",
        "WavLM-Large.pt",
        (S3PRL_CONVERTED + "wavlm_large.pt",),
    ),
)
TEACHERS: dict[str, TeacherName] = {row[0]: TeacherName(*row) for row in _TABLE}


def known_names() -> list[str]:
    """Every accepted teacher name, the built-in one first."""
    return [BUILTIN, *TEACHERS]


def teacher_name(name: str) -> TeacherName:
    """The table entry for `name` (dashes and underscores are interchangeable)."""
    key = name.strip().lower().replace("-", "_")
    if key not in TEACHERS:
        raise DpbenchError(
            f"unknown teacher {name!r}: not an existing file or folder, and not one of {', '.join(known_names())}"
        )
    return TEACHERS[key]
