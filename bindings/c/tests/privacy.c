/* Canary personal data through the C API: errors, which a point-of-sale program logs, never
 * quote it; with fanzha_engine_mask_personal_data the verdicts' evidence does not either.
 *
 * usage: privacy RULES_FILE [mask]
 * Verdicts (JSON and evidence) go to stdout, every error message to stderr, as a vendor's
 * program would log them; the Rust test reads both. */
#include <stdio.h>
#include <string.h>

#include "fanzha.h"

static void log_error(const char *what, FanzhaError *err) {
    fprintf(stderr, "%s failed: %s\n", what, fanzha_error_message(err));
    fanzha_error_free(err);
}

static void print_verdict(FanzhaVerdict *v) {
    char *json = fanzha_verdict_json(v);
    printf("%s\n", json);
    fanzha_string_free(json);
    for (size_t i = 0; i < fanzha_verdict_hit_count(v); i++) {
        for (size_t j = 0; j < fanzha_verdict_hit_evidence_count(v, i); j++) {
            printf("evidence: %s\n", fanzha_verdict_hit_evidence(v, i, j));
        }
    }
    fanzha_verdict_free(v);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: privacy RULES_FILE [mask]\n");
        return 2;
    }
    FanzhaEngine *engine = NULL;
    FanzhaError *err = NULL;
    if (fanzha_engine_from_path(argv[1], &engine, &err) != FANZHA_OK) {
        log_error("loading rules", err);
        return 1;
    }
    if (argc > 2 && strcmp(argv[2], "mask") == 0) {
        fanzha_engine_mask_personal_data(engine, true);
    }
    const char *events[] = {
        "{\"kind\":\"message\",\"id\":\"canary-id-7f3a\",\"sender\":\"acct-canary-9931\","
        "\"text\":\"你先转到6222021234567890123，金丝雀暗号鸮鹦\"}",
        "{\"kind\":\"message\",\"text\":\"身份证11010519491231002X，有事打我电话13912345678\"}",
        /* Bad events: each error is logged. */
        "{\"kind\":\"message\",\"id\":\"canary-id-7f3a\",\"text\":\"金丝雀暗号鸮鹦13912345678\"",
        "{\"kind\":\"message\",\"text\":13912345678}",
        "{\"kind\":\"金丝雀暗号鸮鹦13912345678\",\"text\":\"x\"}",
        "{\"kind\":\"transaction\",\"amount\":\"6222021234567890123\",\"payer\":\"acct-canary-9931\"}",
        "{\"kind\":\"message\",\"text\":\"x\",\"ts\":\"11010519491231002X\"}",
        "[\"金丝雀暗号鸮鹦\", \"13912345678\"]",
    };
    size_t n = sizeof events / sizeof events[0];
    FanzhaMonitor *monitor = NULL;
    if (fanzha_monitor_new(engine, &monitor, &err) != FANZHA_OK) {
        log_error("making a monitor", err);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        FanzhaVerdict *v = NULL;
        if (fanzha_scan_event_json(engine, events[i], strlen(events[i]), &v, &err) == FANZHA_OK) {
            print_verdict(v);
        } else {
            log_error("scanning an event", err);
        }
        if (fanzha_monitor_observe_json(monitor, events[i], strlen(events[i]), &v, &err) == FANZHA_OK) {
            print_verdict(v);
        } else {
            log_error("observing an event", err);
        }
    }
    const char *text = "有事打我电话13912345678";
    FanzhaVerdict *v = NULL;
    if (fanzha_scan_text(engine, text, strlen(text), &v, &err) == FANZHA_OK) {
        print_verdict(v);
    } else {
        log_error("scanning a text", err);
    }
    /* Invalid UTF-8 after the canary. */
    const char bad_text[] = "13912345678\xff\xfe";
    if (fanzha_scan_text(engine, bad_text, sizeof bad_text - 1, &v, &err) == FANZHA_OK) {
        print_verdict(v);
    } else {
        log_error("scanning a text", err);
    }
    char batch[4096] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(batch, events[i]);
        strcat(batch, "\n");
    }
    char *out = NULL;
    size_t out_len = 0;
    if (fanzha_scan_batch_jsonl(engine, batch, strlen(batch), &out, &out_len, &err) == FANZHA_OK) {
        fwrite(out, 1, out_len, stdout);
        fanzha_string_free(out);
    } else {
        log_error("scanning a batch", err);
    }
    /* A reload that fails after all that: its error names the rules, not the events. */
    const char *broken = "[pack]\nid = \"p\"\n[[rule]]\nid = \"broken\"\n";
    if (fanzha_engine_reload_from_str(engine, "broken.toml", broken, strlen(broken), &err) != FANZHA_OK) {
        log_error("reloading rules", err);
    }
    fanzha_monitor_free(monitor);
    fanzha_engine_free(engine);
    return 0;
}
