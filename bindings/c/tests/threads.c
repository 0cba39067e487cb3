/* One engine shared by several scanning threads while another thread swaps its rules every
 * few milliseconds, through the C API only. Built with -Wall -Wextra -Werror by
 * tests/c_programs.rs and run three ways: plain, under valgrind (no leaks, no errors), and
 * built with -fsanitize=address,undefined (AddressSanitizer, LeakSanitizer, UBSan).
 *
 * Version v of the rules has one rule, `c.v<v>`, worth points(v): a verdict names the one
 * version that scored it, and a verdict mixing versions would show a rule and points that
 * disagree. Checked for every event:
 *   - each event gets exactly one verdict, with its own id (scanned once, never twice);
 *   - the verdict is exactly the work of one installed version (one hit, `c.v<v>`, points(v),
 *     or none for a harmless text);
 *   - a thread never goes back to an older version once it has seen a newer one;
 *   - a batch (fanzha_scan_batch_jsonl) answers every line, in order, all by one version;
 *   - a broken rule set is refused (FANZHA_ERR_RULES) and never becomes the running one.
 *
 * `threads quick` does less work (for valgrind, which runs threads one at a time). Built with
 * -DFANZHA_LEAK_ON_PURPOSE it leaks the engine, so the tests can see that the leak checkers
 * really check. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fanzha.h"

#define SCANNERS 6
#define BATCH_LINES 40

static atomic_int failures = 0;
static atomic_int stop = 0;
/* The newest version installed so far. */
static atomic_long installed = 1;
static long events_per_thread = 20000;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            atomic_fetch_add(&failures, 1);                                          \
        }                                                                            \
    } while (0)

static unsigned points(long version) { return (unsigned)(version % 900 + 1); }

/* The rules of version `v`, in `buf`. */
static size_t rules(char *buf, size_t size, long v) {
    int n = snprintf(buf, size,
                     "[pack]\nid = \"c\"\nversion = \"%ld\"\npinyin = false\n"
                     "[[rule]]\nid = \"c.v%ld\"\ntitle = \"t\"\ncategory = \"c\"\npoints = %u\n"
                     "when = { any = [\"先出票\"] }\n",
                     v, v, points(v));
    return n > 0 ? (size_t)n : 0;
}

static const char BROKEN[] = "[pack]\nid = \"c\"\nversion = \"999999\"\n[[rule]]\nid = \"c.x\"\n";

static const char SCAM[] = "老板先出票，钱等下转你";
static const char QUIET[] = "今天天气好";

/* The version a verdict's hits name (0 for no hits); checks that the verdict is the work of
 * that one version. */
static long version_of(const FanzhaVerdict *v, int scam) {
    size_t hits = fanzha_verdict_hit_count(v);
    if (!scam) {
        CHECK(hits == 0);
        return 0;
    }
    CHECK(hits == 1);
    if (hits != 1) return 0;
    const char *rule = fanzha_verdict_hit_rule(v, 0);
    long version = 0;
    CHECK(rule != NULL && sscanf(rule, "c.v%ld", &version) == 1);
    CHECK(version >= 1 && version <= atomic_load(&installed));
    CHECK(fanzha_verdict_hit_score(v, 0) == points(version));
    CHECK(fanzha_verdict_score(v) == points(version));
    return version;
}

struct worker {
    FanzhaEngine *engine;
    int index;
    long scanned;
};

/* Event by event: fanzha_scan_event_json with ids, and fanzha_scan_text. */
static void *scan_events(void *arg) {
    struct worker *w = arg;
    long last = 0;
    char json[256];
    for (long i = 0; i < events_per_thread; i++) {
        int scam = (i + w->index) % 2 == 0;
        FanzhaVerdict *v = NULL;
        FanzhaError *err = NULL;
        if (i % 3 == 0) {
            const char *text = scam ? SCAM : QUIET;
            CHECK(fanzha_scan_text(w->engine, text, strlen(text), &v, &err) == FANZHA_OK);
        } else {
            int n = snprintf(json, sizeof json, "{\"kind\":\"message\",\"id\":\"w%d-%ld\",\"text\":\"%s\"}",
                             w->index, i, scam ? SCAM : QUIET);
            CHECK(fanzha_scan_event_json(w->engine, json, (size_t)n, &v, &err) == FANZHA_OK);
            char id[32];
            snprintf(id, sizeof id, "w%d-%ld", w->index, i);
            CHECK(fanzha_verdict_id(v) != NULL && strcmp(fanzha_verdict_id(v), id) == 0);
        }
        if (err != NULL) fprintf(stderr, "%s\n", fanzha_error_message(err));
        fanzha_error_free(err);
        long version = version_of(v, scam);
        if (version) {
            CHECK(version >= last);
            last = version;
        }
        fanzha_verdict_free(v);
        w->scanned++;
    }
    return NULL;
}

/* In batches: every line answered once, in order, all by the same version. */
static void *scan_batches(void *arg) {
    struct worker *w = arg;
    static const size_t line_size = 128;
    char *input = malloc(BATCH_LINES * line_size);
    CHECK(input != NULL);
    if (input == NULL) return NULL;
    long last = 0;
    for (long b = 0; b * BATCH_LINES < events_per_thread; b++) {
        size_t len = 0;
        for (int i = 0; i < BATCH_LINES; i++) {
            int scam = i % 2 == 0;
            len += (size_t)snprintf(input + len, line_size, "{\"kind\":\"message\",\"id\":\"b%ld-%d\",\"text\":\"%s\"}\n",
                                    b, i, scam ? SCAM : QUIET);
        }
        char *out = NULL;
        size_t out_len = 0;
        CHECK(fanzha_scan_batch_jsonl(w->engine, input, len, &out, &out_len, NULL) == FANZHA_OK);
        if (out == NULL) continue;
        CHECK(strlen(out) == out_len);
        long batch_version = 0;
        int lines = 0;
        for (char *line = out, *end; *line; line = end + 1, lines++) {
            end = strchr(line, '\n');
            CHECK(end != NULL);
            if (end == NULL) break;
            *end = 0;
            char id[48];
            snprintf(id, sizeof id, "{\"id\":\"b%ld-%d\",", b, lines);
            CHECK(strncmp(line, id, strlen(id)) == 0);
            const char *rule = strstr(line, "\"rule\":\"c.v");
            CHECK((rule != NULL) == (lines % 2 == 0));
            if (rule != NULL) {
                long version = 0;
                unsigned score = 0;
                CHECK(sscanf(rule, "\"rule\":\"c.v%ld\",\"category\":\"c\",\"score\":%u", &version, &score) == 2);
                CHECK(score == points(version));
                if (batch_version == 0) batch_version = version;
                CHECK(version == batch_version);
            }
        }
        CHECK(lines == BATCH_LINES);
        CHECK(batch_version >= last);
        last = batch_version;
        fanzha_string_free(out);
        w->scanned += lines;
    }
    free(input);
    return NULL;
}

/* A monitor follows the engine's reloads: never an older version than one it has used. */
static void *scan_monitor(void *arg) {
    struct worker *w = arg;
    long version = 0;
    FanzhaMonitor *m = NULL;
    CHECK(fanzha_monitor_new(w->engine, &m, NULL) == FANZHA_OK);
    char json[256];
    for (long i = 0; i < events_per_thread / 4; i++) {
        int n = snprintf(json, sizeof json,
                         "{\"kind\":\"message\",\"id\":\"m%ld\",\"ts\":%lld,\"conversation\":\"g\",\"text\":\"%s\"}", i,
                         1747612800000LL + i * 1000, SCAM);
        FanzhaVerdict *v = NULL;
        CHECK(fanzha_monitor_observe_json(m, json, (size_t)n, &v, NULL) == FANZHA_OK);
        long seen = version_of(v, 1);
        CHECK(seen >= version);
        version = seen;
        fanzha_verdict_free(v);
        w->scanned++;
    }
    fanzha_monitor_free(m);
    return NULL;
}

static void *reload(void *arg) {
    FanzhaEngine *engine = arg;
    char buf[512];
    long version = 1;
    struct timespec pause = {0, 2 * 1000 * 1000};
    /* At least one reload, however the threads are scheduled (valgrind runs them one at a
     * time); then one every 2 ms until the scanners are done. */
    do {
        version++;
        size_t len = rules(buf, sizeof buf, version);
        /* Published before the swap, so a scan that meets it sees it as installed. */
        atomic_store(&installed, version);
        FanzhaError *err = NULL;
        CHECK(fanzha_engine_reload_from_str(engine, "c.toml", buf, len, &err) == FANZHA_OK);
        if (err != NULL) fprintf(stderr, "%s\n", fanzha_error_message(err));
        fanzha_error_free(err);
        err = NULL;
        CHECK(fanzha_engine_reload_from_str(engine, "broken.toml", BROKEN, strlen(BROKEN), &err) == FANZHA_ERR_RULES);
        CHECK(err != NULL && strstr(fanzha_error_message(err), "broken.toml:") != NULL);
        fanzha_error_free(err);
        char *running = fanzha_engine_rules_version(engine);
        CHECK(running != NULL && strcmp(running, "c@999999") != 0);
        fanzha_string_free(running);
        nanosleep(&pause, NULL);
    } while (!atomic_load(&stop));
    return (void *)(intptr_t)version;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "quick") == 0) events_per_thread = 300;
    char buf[512];
    size_t len = rules(buf, sizeof buf, 1);
    FanzhaEngine *engine = NULL;
    CHECK(fanzha_engine_from_str("c.toml", buf, len, &engine, NULL) == FANZHA_OK);
    if (engine == NULL) return 1;

    pthread_t reloader;
    CHECK(pthread_create(&reloader, NULL, reload, engine) == 0);
    pthread_t threads[SCANNERS];
    struct worker workers[SCANNERS];
    for (int i = 0; i < SCANNERS; i++) {
        workers[i] = (struct worker){engine, i, 0};
        void *(*body)(void *) = i < 3 ? scan_events : i < 5 ? scan_batches : scan_monitor;
        CHECK(pthread_create(&threads[i], NULL, body, &workers[i]) == 0);
    }
    long scanned = 0;
    for (int i = 0; i < SCANNERS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        scanned += workers[i].scanned;
    }
    atomic_store(&stop, 1);
    void *last = NULL;
    CHECK(pthread_join(reloader, &last) == 0);
    long swaps = (long)(intptr_t)last - 1;
#ifndef FANZHA_LEAK_ON_PURPOSE
    fanzha_engine_free(engine);
#else
    /* The control run of the leak checks: the engine is dropped on the floor, which the
     * checker must report. */
    engine = NULL;
#endif

    long batched = (events_per_thread + BATCH_LINES - 1) / BATCH_LINES * BATCH_LINES;
    long expected = 3 * events_per_thread + 2 * batched + events_per_thread / 4;
    CHECK(scanned == expected);
    CHECK(swaps >= 1);
    int failed = atomic_load(&failures);
    if (failed) {
        fprintf(stderr, "%d checks failed\n", failed);
        return 1;
    }
    printf("C threads: %ld events scanned by %d threads across %ld reloads\n", scanned, SCANNERS, swaps);
    return 0;
}
