"""Canary personal data through the Python binding: nothing of it reaches logs or error
messages, and with `mask_personal_data` the verdicts' evidence hides the numbers."""

import json
import logging
import pathlib

import pytest

import fanzha

ROOT = pathlib.Path(__file__).resolve().parents[3]
RULES = ROOT / "tests" / "data" / "privacy" / "numbers.toml"

PHONE = "13912345678"
ID_CARD = "11010519491231002X"
BANK_CARD = "6222021234567890123"
TEXT = "金丝雀暗号鸮鹦"
EVENT_ID = "canary-id-7f3a"
ACCOUNT = "acct-canary-9931"
CANARIES = [PHONE, ID_CARD, BANK_CARD, TEXT, EVENT_ID, ACCOUNT]

GOOD = [
    {"kind": "message", "id": EVENT_ID, "sender": ACCOUNT, "text": f"你先转到{BANK_CARD}，{TEXT}"},
    {"kind": "message", "text": f"身份证{ID_CARD}，有事打我电话{PHONE}"},
]
BAD = [
    f'{{"kind":"message","id":"{EVENT_ID}","text":"{TEXT}{PHONE}"',
    {"kind": "message", "text": int(PHONE)},
    {"kind": f"{TEXT}{PHONE}", "text": "x"},
    {"kind": "transaction", "amount": BANK_CARD, "payer": ACCOUNT},
    {"kind": "message", "text": "x", "ts": ID_CARD},
    [TEXT, PHONE],
]


def run_everything(engine):
    """Every call with every event; returns the verdicts' JSON and the errors' texts."""
    verdicts, errors = [], []
    monitor = engine.monitor()
    for event in GOOD + BAD:
        for call in (engine.scan_event, monitor.observe):
            try:
                verdicts.append(call(event).to_json())
            except Exception as e:  # noqa: BLE001 - every error's text is checked
                errors.append(f"{type(e).__name__}: {e}")
    verdicts += [v.to_json() for v in engine.scan_batch(GOOD)]
    verdicts.append(engine.scan(f"有事打我电话{PHONE}", sender=ACCOUNT, id=EVENT_ID).to_json())
    try:
        engine.reload(text='[pack]\nid = "p"\n[[rule]]\nid = "broken"\n')
    except fanzha.RulesError as e:
        errors.append(str(e))
    return verdicts, errors


@pytest.mark.parametrize("mask", [False, True])
def test_no_personal_data_in_logs_or_errors(mask, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    engine = fanzha.Engine.from_path(RULES)
    engine.mask_personal_data = mask
    assert engine.mask_personal_data is mask
    verdicts, errors = run_everything(engine)
    # Every bad event raised, and the reload failed: the errors were all produced.
    assert len(errors) == 2 * len(BAD) + 1, errors
    out, err = capfd.readouterr()
    for canary in CANARIES:
        assert canary not in caplog.text
        assert canary not in out and canary not in err
        for e in errors:
            assert canary not in e, e
    evidence = json.dumps([json.loads(v)["hits"] for v in verdicts], ensure_ascii=False)
    for number in (PHONE, ID_CARD, BANK_CARD):
        # Unmasked, the numbers are the evidence; masked, only their last four digits show.
        assert (number in evidence) is not mask, evidence
    if mask:
        assert "*******5678" in evidence and "***************0123" in evidence
        # Masking keeps the spans: evidence still fits them.
        for v in verdicts:
            for hit in json.loads(v)["hits"]:
                for (start, end), text in zip(hit["spans"], hit["evidence"]):
                    assert end - start == len(text)
