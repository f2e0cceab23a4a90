"""Known teacher names and the file names each checkpoint source (torchaudio, Hugging Face,
fairseq) gives them. Locating the files is `dpbench.teachers.resolve`'s job."""

from __future__ import annotations

from dataclasses import dataclass

from dpbench.errors import DpbenchError

BUILTIN = "tiny-hubert"


@dataclass(frozen=True)
class TeacherName:
    """One teacher name and where each toolkit stores its checkpoint."""

    name: str
    torchaudio_file: str  # in $TORCH_HOME/hub/checkpoints
    hf_repo: str  # in $HF_HOME/hub/models--<org>--<name>/snapshots/<rev>/
    fairseq_file: str  # the file name the original release used

    @property
    def env_var(self) -> str:
        """Environment variable that may hold this teacher's checkpoint path."""
        return "DPBENCH_" + self.name.upper().replace("-", "_")

    @property
    def hf_cache_folder(self) -> str:
        return "models--" + self.hf_repo.replace("/", "--")

    @property
    def file_names(self) -> tuple[str, ...]:
        """Names accepted inside a plain checkpoint folder (DPBENCH_CHECKPOINTS)."""
        return (f"{self.name}.pt", self.torchaudio_file, self.fairseq_file)


_TABLE = (  # name, torchaudio file, Hugging Face repo, fairseq file
    ("hubert_base", "hubert_fairseq_base_ls960.pth", "facebook/hubert-base-ls960", "hubert_base_ls960.pt"),
    ("hubert_large", "hubert_fairseq_large_ll60k.pth", "facebook/hubert-large-ll60k", "hubert_large_ll60k.pt"),
    ("wav2vec2_base", "wav2vec2_fairseq_base_ls960.pth", "facebook/wav2vec2-base", "wav2vec_small.pt"),
    ("wav2vec2_large", "wav2vec2_fairseq_large_lv60k.pth", "facebook/wav2vec2-large-lv60", "wav2vec_vox_new.pt"),
    ("wavlm_base", "wavlm_base.pth", "microsoft/wavlm-base", "WavLM-Base.pt"),
    ("wavlm_base_plus", "wavlm_base_plus.pth", "microsoft/wavlm-base-plus", "WavLM-Base+.pt"),
    ("wavlm_large", "wavlm_large.pth", "microsoft/wavlm-large", "WavLM-Large.pt"),
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
