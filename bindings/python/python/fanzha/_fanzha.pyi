from os import PathLike
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

__version__: str

Id = Union[str, int]
EventLike = Union[Mapping[str, Any], str]

class RulesError(ValueError):
    """Rule files or texts with errors. Each diagnostic has code, file, line, column, rule, message."""
    diagnostics: List[Dict[str, Any]]

class EventError(ValueError):
    """An event that cannot be read (not JSON, no text or amount, a bad time or amount)."""

class Hit:
    rule: str
    category: str
    score: int
    evidence: List[str]
    spans: List[Tuple[int, int]]
    events: List[str]

class Verdict:
    level: str
    score: int
    id: Optional[str]
    late: bool
    advice: List[str]
    hits: List[Hit]
    alert: bool
    def to_json(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Monitor:
    def observe(self, event: EventLike) -> Verdict: ...
    def observe_batch(self, events: Sequence[EventLike]) -> List[Verdict]: ...

class Engine:
    @staticmethod
    def bundled() -> Engine: ...
    @staticmethod
    def from_path(path: Union[str, PathLike[str]]) -> Engine: ...
    @staticmethod
    def from_str(text: str, name: str = "rules.toml") -> Engine: ...
    def reload(
        self, path: Optional[Union[str, PathLike[str]]] = None, text: Optional[str] = None, name: str = "rules.toml"
    ) -> None: ...
    @property
    def rules_version(self) -> str: ...
    # Mask phone, ID card and bank card numbers in evidence but their last four digits.
    mask_personal_data: bool
    def scan(
        self,
        text: str,
        *,
        sender: Optional[Id] = None,
        conversation: Optional[Id] = None,
        ts: Optional[Union[str, int]] = None,
        channel: Optional[str] = None,
        id: Optional[Id] = None,
    ) -> Verdict: ...
    def scan_event(self, event: EventLike) -> Verdict: ...
    def scan_batch(self, events: Sequence[EventLike]) -> List[Verdict]: ...
    def monitor(self) -> Monitor: ...
