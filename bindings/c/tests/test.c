/* The C API exercised from C: every call, its errors, NULLs, ownership. Built with
 * -Wall -Wextra -Werror by tests/c_programs.rs, and run once more under valgrind.
 * `test quick` skips the bundled packs (slow to compile under valgrind). */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanzha.h"

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static const char RULES[] =
    "[pack]\nid = \"t\"\nversion = \"1\"\npinyin = false\n"
    "[[rule]]\nid = \"t.print-first\"\ntitle = \"p\"\ncategory = \"fake_large_order\"\npoints = 70\n"
    "advice = [\"未收到款项前不要出票\"]\nwhen = { any = [\"先出票\"] }\n"
    "[[rule]]\nid = \"t.burst\"\ntitle = \"b\"\ncategory = \"velocity\"\nkinds = [\"transaction\"]\npoints = 60\n"
    "when = { field = { name = \"remote\", eq = true } }\n"
    "window = { key = \"merchant\", within = \"10m\", count = { ge = 2 } }\n";

static const char BROKEN[] =
    "[pack]\nid = \"x\"\nversion = \"1\"\n"
    "[[rule]]\nid = \"x.r\"\ntitle = \"t\"\ncategory = \"c\"\npoints = 1\n"
    "when = { any = [\"@nope\"] }\n";

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void scan_texts(FanzhaEngine *engine) {
    const char *text = "老板先 出-票，钱马上到";
    FanzhaVerdict *v = NULL;
    CHECK(fanzha_scan_text(engine, text, strlen(text), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_level(v) == FANZHA_LEVEL_WARN);
    CHECK(fanzha_verdict_score(v) == 70);
    CHECK(fanzha_verdict_hit_count(v) == 1);
    CHECK(strcmp(fanzha_verdict_hit_rule(v, 0), "t.print-first") == 0);
    CHECK(strcmp(fanzha_verdict_hit_category(v, 0), "fake_large_order") == 0);
    CHECK(fanzha_verdict_hit_score(v, 0) == 70);
    CHECK(fanzha_verdict_hit_evidence_count(v, 0) == 1);
    CHECK(strcmp(fanzha_verdict_hit_evidence(v, 0, 0), "先 出-票") == 0);
    size_t start = 0, end = 0;
    CHECK(fanzha_verdict_hit_span(v, 0, 0, &start, &end) == FANZHA_OK);
    CHECK(start == 2 && end == 7);
    CHECK(fanzha_verdict_hit_span(v, 0, 1, &start, &end) == FANZHA_ERR_RANGE);
    CHECK(fanzha_verdict_hit_span(v, 0, 0, NULL, &end) == FANZHA_ERR_NULL);
    CHECK(fanzha_verdict_hit_rule(v, 1) == NULL);
    CHECK(fanzha_verdict_hit_evidence(v, 0, 9) == NULL);
    CHECK(fanzha_verdict_hit_event_count(v, 0) == 0);
    CHECK(fanzha_verdict_advice_count(v) == 1);
    CHECK(strcmp(fanzha_verdict_advice(v, 0), "未收到款项前不要出票") == 0);
    CHECK(fanzha_verdict_id(v) == NULL);
    char *json = fanzha_verdict_json(v);
    CHECK(json != NULL && strstr(json, "\"level\":\"warn\"") != NULL);
    fanzha_string_free(json);
    fanzha_verdict_free(v);

    /* A length shorter than the buffer: only that much is scanned, no NUL needed. */
    const char *longer = "先出票，后付款";
    CHECK(fanzha_scan_text(engine, longer, strlen("先出票"), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_hit_count(v) == 1 && strcmp(fanzha_verdict_hit_evidence(v, 0, 0), "先出票") == 0);
    fanzha_verdict_free(v);

    const char *clean = "来两份酸辣粉";
    CHECK(fanzha_scan_text(engine, clean, strlen(clean), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_level(v) == FANZHA_LEVEL_NONE && fanzha_verdict_hit_count(v) == 0);
    fanzha_verdict_free(v);
}

static void bad_arguments(FanzhaEngine *engine) {
    FanzhaVerdict *v = NULL;
    FanzhaError *err = NULL;
    const char bad_utf8[] = {(char)0xe5, (char)0x85, 'x', 0};
    CHECK(fanzha_scan_text(engine, bad_utf8, 3, &v, &err) == FANZHA_ERR_UTF8);
    CHECK(v == NULL);
    CHECK(err != NULL && strstr(fanzha_error_message(err), "UTF-8") != NULL);
    fanzha_error_free(err);

    CHECK(fanzha_scan_text(NULL, "x", 1, &v, NULL) == FANZHA_ERR_NULL);
    CHECK(fanzha_scan_text(engine, NULL, 1, &v, NULL) == FANZHA_ERR_NULL);
    CHECK(fanzha_scan_text(engine, "x", 1, NULL, NULL) == FANZHA_ERR_NULL);
    CHECK(fanzha_engine_from_str(NULL, RULES, strlen(RULES), NULL, NULL) == FANZHA_ERR_NULL);

    /* Accessors on NULL give neutral values; every free takes NULL. */
    CHECK(fanzha_verdict_level(NULL) == FANZHA_LEVEL_NONE);
    CHECK(fanzha_verdict_score(NULL) == 0);
    CHECK(fanzha_verdict_hit_count(NULL) == 0);
    CHECK(fanzha_verdict_json(NULL) == NULL);
    CHECK(fanzha_error_message(NULL) == NULL);
    CHECK(fanzha_engine_rules_version(NULL) == NULL);
    fanzha_verdict_free(NULL);
    fanzha_engine_free(NULL);
    fanzha_monitor_free(NULL);
    fanzha_error_free(NULL);
    fanzha_string_free(NULL);
}

static void events(FanzhaEngine *engine) {
    FanzhaVerdict *v = NULL;
    FanzhaError *err = NULL;
    const char *ev = "{\"kind\":\"message\",\"id\":\"m1\",\"text\":\"先出票\"}";
    CHECK(fanzha_scan_event_json(engine, ev, strlen(ev), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_id(v) != NULL && strcmp(fanzha_verdict_id(v), "m1") == 0);
    CHECK(fanzha_verdict_level(v) == FANZHA_LEVEL_WARN);
    fanzha_verdict_free(v);

    const char *negative = "{\"kind\":\"transaction\",\"amount\":-5}";
    CHECK(fanzha_scan_event_json(engine, negative, strlen(negative), &v, &err) == FANZHA_ERR_EVENT);
    CHECK(err != NULL && strstr(fanzha_error_message(err), "amount") != NULL);
    fanzha_error_free(err);

    const char *batch =
        "{\"kind\":\"message\",\"id\":\"a\",\"text\":\"先出票\"}\n"
        "not json\n"
        "{\"kind\":\"message\",\"id\":\"b\",\"text\":\"你好\"}\n";
    char *lines = NULL;
    size_t len = 0;
    CHECK(fanzha_scan_batch_jsonl(engine, batch, strlen(batch), &lines, &len, NULL) == FANZHA_OK);
    CHECK(lines != NULL && strlen(lines) == len);
    CHECK(count_lines(lines) == 3);
    CHECK(strstr(lines, "{\"id\":\"a\",\"level\":\"warn\"") == lines);
    CHECK(strstr(lines, "{\"line\":2,\"error\":") != NULL);
    fanzha_string_free(lines);
}

static void streams(FanzhaEngine *engine) {
    FanzhaMonitor *m = NULL;
    FanzhaVerdict *v = NULL;
    CHECK(fanzha_monitor_new(engine, &m, NULL) == FANZHA_OK);
    const char *t1 = "{\"kind\":\"transaction\",\"id\":\"t1\",\"ts\":\"2025-05-19T10:00:00+08:00\","
                     "\"merchant\":\"s\",\"amount\":100,\"remote\":true}";
    const char *t2 = "{\"kind\":\"transaction\",\"id\":\"t2\",\"ts\":\"2025-05-19T10:03:00+08:00\","
                     "\"merchant\":\"s\",\"amount\":100,\"remote\":true}";
    const char *old = "{\"kind\":\"transaction\",\"id\":\"t0\",\"ts\":\"2025-05-19T09:00:00+08:00\","
                      "\"merchant\":\"s\",\"amount\":100,\"remote\":true}";
    CHECK(fanzha_monitor_observe_json(m, t1, strlen(t1), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_level(v) == FANZHA_LEVEL_NONE);
    fanzha_verdict_free(v);
    CHECK(fanzha_monitor_observe_json(m, t2, strlen(t2), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_level(v) == FANZHA_LEVEL_WARN);
    CHECK(fanzha_verdict_hit_event_count(v, 0) == 2);
    CHECK(strcmp(fanzha_verdict_hit_event(v, 0, 0), "t1") == 0);
    CHECK(strcmp(fanzha_verdict_hit_event(v, 0, 1), "t2") == 0);
    fanzha_verdict_free(v);
    CHECK(fanzha_monitor_observe_json(m, old, strlen(old), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_late(v) == 1);
    fanzha_verdict_free(v);
    CHECK(fanzha_monitor_observe_json(m, "{", 1, &v, NULL) == FANZHA_ERR_EVENT);
    fanzha_monitor_free(m);
}

static void rule_errors_and_reloads(FanzhaEngine *engine) {
    FanzhaEngine *broken = NULL;
    FanzhaError *err = NULL;
    CHECK(fanzha_engine_from_str("broken.toml", BROKEN, strlen(BROKEN), &broken, &err) == FANZHA_ERR_RULES);
    CHECK(broken == NULL);
    CHECK(err != NULL && strstr(fanzha_error_message(err), "broken.toml:9:") != NULL);
    CHECK(err != NULL && strstr(fanzha_error_message(err), "E003") != NULL);
    fanzha_error_free(err);

    /* A broken set is refused and the running one kept; a good one replaces it. */
    err = NULL;
    CHECK(fanzha_engine_reload_from_str(engine, "broken.toml", BROKEN, strlen(BROKEN), &err) == FANZHA_ERR_RULES);
    fanzha_error_free(err);
    char *version = fanzha_engine_rules_version(engine);
    CHECK(version != NULL && strcmp(version, "t@1") == 0);
    fanzha_string_free(version);
    const char *empty = "[pack]\nid = \"t\"\nversion = \"2\"\n";
    CHECK(fanzha_engine_reload_from_str(engine, "v2.toml", empty, strlen(empty), NULL) == FANZHA_OK);
    version = fanzha_engine_rules_version(engine);
    CHECK(version != NULL && strcmp(version, "t@2") == 0);
    fanzha_string_free(version);
    FanzhaVerdict *v = NULL;
    CHECK(fanzha_scan_text(engine, "先出票", strlen("先出票"), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_hit_count(v) == 0);
    fanzha_verdict_free(v);
}

/* One engine scanned from four threads while the main thread reloads it: every scan succeeds
 * and scores by one rule set or the other (70 points or none), never anything else. */
static void *scan_many(void *arg) {
    FanzhaEngine *engine = arg;
    long bad = 0;
    for (int i = 0; i < 300; i++) {
        FanzhaVerdict *v = NULL;
        if (fanzha_scan_text(engine, "先出票", strlen("先出票"), &v, NULL) != FANZHA_OK) bad++;
        unsigned score = fanzha_verdict_score(v);
        if (score != 70 && score != 0) bad++;
        fanzha_verdict_free(v);
    }
    return (void *)(intptr_t)bad;
}

static void threads(void) {
    FanzhaEngine *engine = NULL;
    CHECK(fanzha_engine_from_str("t.toml", RULES, strlen(RULES), &engine, NULL) == FANZHA_OK);
    pthread_t workers[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&workers[i], NULL, scan_many, engine) == 0);
    const char *empty = "[pack]\nid = \"t\"\nversion = \"2\"\n";
    for (int i = 0; i < 10; i++) {
        if (i % 2 == 0) {
            CHECK(fanzha_engine_reload_from_str(engine, "v2.toml", empty, strlen(empty), NULL) == FANZHA_OK);
        } else {
            CHECK(fanzha_engine_reload_from_str(engine, "t.toml", RULES, strlen(RULES), NULL) == FANZHA_OK);
        }
    }
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        CHECK(pthread_join(workers[i], &bad) == 0);
        CHECK(bad == NULL);
    }
    fanzha_engine_free(engine);
}

/* The shared conformance vectors (tests/conformance): the same verdicts, byte for byte, as
 * the crate and the command give. */
static void strip_newline(char *s) { s[strcspn(s, "\r\n")] = 0; }

/* Checks the vectors against `engine` (NULL: a failed load, already counted); `how` names
 * the way it was loaded in failures. Frees the engine. */
static void conformance_with(const char *dir, FanzhaEngine *engine, const char *how) {
    char path[4096];
    FanzhaMonitor *monitor = NULL;
    if (engine == NULL) return;
    CHECK(fanzha_monitor_new(engine, &monitor, NULL) == FANZHA_OK);
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    FILE *events = fopen(path, "r");
    snprintf(path, sizeof path, "%s/verdicts.jsonl", dir);
    FILE *verdicts = fopen(path, "r");
    CHECK(events != NULL && verdicts != NULL);
    static char event[1 << 16], want[1 << 16];
    int n = 0;
    while (events && verdicts && fgets(event, sizeof event, events) != NULL) {
        n++;
        CHECK(fgets(want, sizeof want, verdicts) != NULL);
        strip_newline(event);
        strip_newline(want);
        FanzhaVerdict *v = NULL;
        CHECK(fanzha_monitor_observe_json(monitor, event, strlen(event), &v, NULL) == FANZHA_OK);
        char *json = fanzha_verdict_json(v);
        if (json == NULL || strcmp(json, want) != 0) {
            fprintf(stderr, "conformance event %d (rules %s):\n  got  %s\n  want %s\n", n, how, json ? json : "(null)",
                    want);
            failures++;
        }
        fanzha_string_free(json);
        fanzha_verdict_free(v);
    }
    CHECK(n >= 10);
    if (events) fclose(events);
    if (verdicts) fclose(verdicts);
    fanzha_monitor_free(monitor);
    fanzha_engine_free(engine);
}

/* Whether an error's message contains `want`; prints it when not. */
static int says(FanzhaError *err, const char *want) {
    const char *message = fanzha_error_message(err);
    if (message != NULL && strstr(message, want) != NULL) return 1;
    fprintf(stderr, "expected an error containing \"%s\", got: %s\n", want, message ? message : "(no error)");
    return 0;
}

static void conformance(const char *dir) {
    char path[4096];
    FanzhaEngine *engine = NULL;
    FanzhaError *err = NULL;
    snprintf(path, sizeof path, "%s/rules.toml", dir);
    CHECK(fanzha_engine_from_path(path, &engine, &err) == FANZHA_OK);
    if (err != NULL) fprintf(stderr, "%s\n", fanzha_error_message(err));
    fanzha_error_free(err);
    conformance_with(dir, engine, "rules.toml");
}

/* Reads a whole file; NULL when it cannot. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    uint8_t *data = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *bigger = realloc(data, cap);
            if (bigger == NULL) break;
            data = bigger;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    *len = n;
    return data;
}

/* The conformance rules compiled to a bundle (`bundle`, written by tests/c_programs.rs as
 * `fanzha compile` would): loaded from the file and from memory, the same verdicts as the TOML;
 * damaged, truncated or not a bundle at all, refused with a message that says so. */
static void bundles(const char *dir, const char *bundle) {
    FanzhaEngine *engine = NULL;
    FanzhaError *err = NULL;
    CHECK(fanzha_engine_from_bundle_path(bundle, &engine, &err) == FANZHA_OK);
    if (err != NULL) fprintf(stderr, "%s\n", fanzha_error_message(err));
    fanzha_error_free(err);
    err = NULL;
    char *version = fanzha_engine_rules_version(engine);
    CHECK(version != NULL && strcmp(version, "conformance@1") == 0);
    fanzha_string_free(version);
    conformance_with(dir, engine, "bundle file");

    size_t len = 0;
    uint8_t *bytes = read_file(bundle, &len);
    CHECK(bytes != NULL && len > 64);
    if (bytes == NULL || len <= 64) {
        free(bytes);
        return;
    }
    engine = NULL;
    CHECK(fanzha_engine_from_bundle(bytes, len, &engine, &err) == FANZHA_OK);
    fanzha_error_free(err);
    err = NULL;
    conformance_with(dir, engine, "bundle in memory");

    /* One flipped bit in the middle: the checksum catches it. */
    engine = NULL;
    bytes[len / 2] ^= 0x10;
    CHECK(fanzha_engine_from_bundle(bytes, len, &engine, &err) == FANZHA_ERR_RULES);
    CHECK(engine == NULL);
    CHECK(says(err, "checksum"));
    fanzha_error_free(err);
    err = NULL;
    bytes[len / 2] ^= 0x10;

    /* Cut short: in the header, and after it. */
    CHECK(fanzha_engine_from_bundle(bytes, 12, &engine, &err) == FANZHA_ERR_RULES);
    CHECK(engine == NULL && says(err, "truncated"));
    fanzha_error_free(err);
    err = NULL;
    CHECK(fanzha_engine_from_bundle(bytes, len - 100, &engine, &err) == FANZHA_ERR_RULES);
    CHECK(engine == NULL && says(err, "truncated"));
    fanzha_error_free(err);
    err = NULL;
    CHECK(fanzha_engine_from_bundle(bytes, 0, &engine, &err) == FANZHA_ERR_RULES);
    CHECK(engine == NULL && says(err, "not a fanzha rule bundle"));
    fanzha_error_free(err);
    err = NULL;

    /* The rule file itself given as a bundle: refused, with a hint; the path leads the message. */
    char path[4096];
    snprintf(path, sizeof path, "%s/rules.toml", dir);
    CHECK(fanzha_engine_from_bundle_path(path, &engine, &err) == FANZHA_ERR_RULES);
    CHECK(engine == NULL && says(err, "not a fanzha rule bundle") && says(err, "TOML") && says(err, path));
    fanzha_error_free(err);
    err = NULL;
    snprintf(path, sizeof path, "%s/no-such.fzb", dir);
    CHECK(fanzha_engine_from_bundle_path(path, &engine, &err) == FANZHA_ERR_RULES);
    CHECK(engine == NULL && says(err, "no-such.fzb"));
    fanzha_error_free(err);
    err = NULL;

    /* NULLs. */
    CHECK(fanzha_engine_from_bundle(NULL, len, &engine, &err) == FANZHA_ERR_NULL);
    CHECK(says(err, "NULL"));
    fanzha_error_free(err);
    CHECK(fanzha_engine_from_bundle(bytes, len, NULL, NULL) == FANZHA_ERR_NULL);
    CHECK(fanzha_engine_from_bundle_path(NULL, &engine, NULL) == FANZHA_ERR_NULL);
    CHECK(fanzha_engine_from_bundle_path(bundle, NULL, NULL) == FANZHA_ERR_NULL);
    CHECK(engine == NULL);
    free(bytes);
}

static void bundled(void) {
    FanzhaEngine *engine = NULL;
    CHECK(fanzha_engine_new_bundled(&engine, NULL) == FANZHA_OK);
    const char *scam = "老闆，先幫我出伍萬嘅票，錢等陣俾你";
    FanzhaVerdict *v = NULL;
    CHECK(fanzha_scan_text(engine, scam, strlen(scam), &v, NULL) == FANZHA_OK);
    CHECK(fanzha_verdict_level(v) == FANZHA_LEVEL_BLOCK);
    fanzha_verdict_free(v);
    fanzha_engine_free(engine);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    CHECK(fanzha_abi_version() == FANZHA_ABI_VERSION);
    FanzhaEngine *engine = NULL;
    FanzhaError *err = NULL;
    CHECK(fanzha_engine_from_str("t.toml", RULES, strlen(RULES), &engine, &err) == FANZHA_OK);
    CHECK(err == NULL && engine != NULL);
    if (engine == NULL) return 1;
    scan_texts(engine);
    bad_arguments(engine);
    events(engine);
    streams(engine);
    rule_errors_and_reloads(engine);
    fanzha_engine_free(engine);
    threads();
    const char *vectors = getenv("FANZHA_CONFORMANCE_DIR");
    CHECK(vectors != NULL);
    if (vectors != NULL) conformance(vectors);
    const char *bundle = getenv("FANZHA_CONFORMANCE_BUNDLE");
    CHECK(bundle != NULL);
    if (vectors != NULL && bundle != NULL) bundles(vectors, bundle);
    if (!quick) bundled();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("C API: all checks passed\n");
    return 0;
}
