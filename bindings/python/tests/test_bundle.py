"""Compiled rule bundles through the Python binding: Engine.to_bundle, Engine.from_bundle."""

import json
import pathlib

import pytest

import fanzha

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "tests" / "conformance"


@pytest.fixture(scope="module")
def bundle():
    """The conformance rules compiled to a bundle, as `fanzha compile` writes them."""
    return fanzha.Engine.from_path(VECTORS / "rules.toml").to_bundle()


def check_vectors(engine):
    """The conformance vectors, byte for byte, through a monitor of `engine`."""
    monitor = engine.monitor()
    events = (VECTORS / "events.jsonl").read_text(encoding="utf-8").splitlines()
    want = (VECTORS / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(events) == len(want) >= 10
    for i, (event, expected) in enumerate(zip(events, want), 1):
        assert monitor.observe(json.loads(event)).to_json() == expected, f"event {i}"


def test_a_bundle_starts_with_the_signature_and_loads_the_same_rules(bundle):
    assert isinstance(bundle, bytes)
    assert bundle[:8] == b"\x89FZB\r\n\x1a\n"
    engine = fanzha.Engine.from_bundle(bundle)
    assert engine.rules_version == "conformance@1"
    # A bundle of a loaded bundle is the same bytes.
    assert engine.to_bundle() == bundle


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "str", "PathLike"])
def test_the_conformance_vectors_through_a_bundle(bundle, kind, tmp_path):
    path = tmp_path / "rules.fzb"
    path.write_bytes(bundle)
    source = {
        "bytes": bundle,
        "bytearray": bytearray(bundle),
        "memoryview": memoryview(bundle),
        "str": str(path),
        "PathLike": path,
    }[kind]
    check_vectors(fanzha.Engine.from_bundle(source))


def test_a_memoryview_slice_is_read_as_its_bytes(bundle):
    padded = b"xxxx" + bundle + b"yyyy"
    engine = fanzha.Engine.from_bundle(memoryview(padded)[4:-4])
    assert engine.rules_version == "conformance@1"


def test_a_flipped_byte_is_refused_for_its_checksum(bundle):
    damaged = bytearray(bundle)
    damaged[len(damaged) // 2] ^= 0x01
    with pytest.raises(fanzha.RulesError, match="checksum") as caught:
        fanzha.Engine.from_bundle(damaged)
    assert caught.value.diagnostics == []
    # The binding's errors are ValueErrors, as for rule files.
    with pytest.raises(ValueError, match="checksum"):
        fanzha.Engine.from_bundle(bytes(damaged))


def test_truncated_bundles_are_refused(bundle):
    for cut in [bundle[:12], bundle[: len(bundle) - 50]]:
        with pytest.raises(fanzha.RulesError, match="truncated"):
            fanzha.Engine.from_bundle(cut)
    with pytest.raises(fanzha.RulesError, match="not a fanzha rule bundle"):
        fanzha.Engine.from_bundle(b"")


def test_a_toml_file_given_as_a_bundle_is_refused_with_a_hint():
    rules = VECTORS / "rules.toml"
    with pytest.raises(fanzha.RulesError) as caught:
        fanzha.Engine.from_bundle(rules)
    message = str(caught.value)
    assert "not a fanzha rule bundle" in message and "TOML" in message and str(rules) in message
    with pytest.raises(fanzha.RulesError, match="not a fanzha rule bundle"):
        fanzha.Engine.from_bundle(rules.read_bytes())


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(fanzha.RulesError, match="nope.fzb"):
        fanzha.Engine.from_bundle(tmp_path / "nope.fzb")


def test_other_types_are_a_type_error():
    for bad in [42, None, ["a"], {"rules": b""}]:
        with pytest.raises(TypeError, match="bytes, bytearray, memoryview, or a path"):
            fanzha.Engine.from_bundle(bad)


def test_the_bundled_packs_round_trip():
    engine = fanzha.Engine.bundled()
    again = fanzha.Engine.from_bundle(engine.to_bundle())
    assert again.rules_version == engine.rules_version
    scam = "老闆，先幫我出伍萬嘅票，錢等陣俾你"
    assert again.scan(scam).to_json() == engine.scan(scam).to_json()
    assert again.scan(scam).level == "block"


def test_a_monitor_keeps_a_script_under_way_across_reloads(tmp_path):
    """reload(path=) takes a bundle as well as packs; a monitor moves to the new rules at its
    next event with the state of the rules that stay, so the sample stream's three-message
    script is caught though the rules were reloaded after its second message."""
    lines = (ROOT / "examples" / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    script = [json.loads(l) for l in lines if json.loads(l).get("id") in ("s1", "s2", "s3")]
    assert len(script) == 3
    engine = fanzha.Engine.bundled()
    path = tmp_path / "rules.fzb"
    path.write_bytes(engine.to_bundle())
    broken = tmp_path / "broken.toml"
    broken.write_text('[pack]\nid = "x"\n[[rule]]\n', encoding="utf-8")
    monitor = engine.monitor()
    assert not any(monitor.observe(e).alert for e in script[:2])
    with pytest.raises(fanzha.RulesError):
        engine.reload(path=broken)
    engine.reload(path=path)
    assert not engine.monitor().observe(script[2]).alert, "a new monitor has not seen the script"
    assert monitor.observe(script[2]).alert
