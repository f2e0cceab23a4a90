"""`TypedModuleList[M]`: torch's `nn.ModuleList` as the type checker sees it when every item is an `M`.

At run time it *is* `nn.ModuleList` (same class, state-dict names, repr and torch.compile path); only
the type checker reads the generic declaration, so `for layer in model.layers` gives `TransformerLayer`
items instead of `nn.Module` (whose attributes type as `Tensor | Module`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from torch import nn

M = TypeVar("M", bound=nn.Module)

if TYPE_CHECKING:

    class TypedModuleList(nn.ModuleList, Generic[M]):
        def __init__(self, modules: Iterable[M] | None = None) -> None: ...

        def __iter__(self) -> Iterator[M]: ...

        @overload
        def __getitem__(self, idx: slice) -> TypedModuleList[M]: ...

        @overload
        def __getitem__(self, idx: int) -> M: ...

        def __getitem__(self, idx: int | slice) -> M | TypedModuleList[M]: ...

else:
    TypedModuleList = nn.ModuleList
