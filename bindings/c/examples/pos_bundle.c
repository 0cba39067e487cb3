/* A lottery terminal's check before printing tickets, with precompiled rules: the terminal
 * loads a bundle shipped next to it instead of compiling rule packs at every start (a few
 * milliseconds instead of most of a second), scores the customer's chat (JSON Lines events,
 * oldest first) through a monitor, prints each message's verdict, and refuses to print when
 * any message reaches warn.
 *
 * Make the bundle once, where the rules are maintained, and ship it with the terminal:
 *
 *   fanzha compile -o rules.fzb                      # the bundled packs
 *   fanzha compile --rules my-packs/ -o rules.fzb    # or your own
 *
 *   pos_bundle RULES.fzb CHAT.jsonl   exit 0: print; exit 3: refuse; exit 2: could not check
 *
 * A damaged or truncated bundle, or one written by an incompatible fanzha, is refused with a
 * message that says so (exit 2): the terminal never scores with half a rule set.
 */

#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fanzha.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: pos_bundle RULES.fzb CHAT.jsonl\n");
        return 2;
    }
    FanzhaEngine *engine = NULL;
    FanzhaError *err = NULL;
    double start = now_ms();
    if (fanzha_engine_from_bundle_path(argv[1], &engine, &err) != FANZHA_OK) {
        fprintf(stderr, "fanzha: %s\n", fanzha_error_message(err));
        fanzha_error_free(err);
        return 2;
    }
    double loaded = now_ms() - start;
    char *version = fanzha_engine_rules_version(engine);
    printf("loaded rules %s from %s in %.1f ms\n", version ? version : "?", argv[1], loaded);
    fanzha_string_free(version);

    FILE *chat = fopen(argv[2], "r");
    if (chat == NULL) {
        perror(argv[2]);
        fanzha_engine_free(engine);
        return 2;
    }
    FanzhaMonitor *monitor = NULL;
    if (fanzha_monitor_new(engine, &monitor, &err) != FANZHA_OK) {
        fprintf(stderr, "fanzha: %s\n", fanzha_error_message(err));
        fanzha_error_free(err);
        fanzha_engine_free(engine);
        fclose(chat);
        return 2;
    }

    static const char *LEVELS[] = {"none", "notice", "warn", "block"};
    FanzhaLevel worst = FANZHA_LEVEL_NONE;
    FanzhaVerdict *worst_verdict = NULL;
    static char line[1 << 16];
    int line_no = 0;
    while (fgets(line, sizeof line, chat) != NULL) {
        line_no++;
        size_t len = strcspn(line, "\r\n");
        if (len == 0) continue;
        FanzhaVerdict *v = NULL;
        if (fanzha_monitor_observe_json(monitor, line, len, &v, &err) != FANZHA_OK) {
            fprintf(stderr, "line %d skipped: %s\n", line_no, fanzha_error_message(err));
            fanzha_error_free(err);
            err = NULL;
            continue;
        }
        const char *id = fanzha_verdict_id(v);
        printf("%s: %s (score %u)", id ? id : "-", LEVELS[fanzha_verdict_level(v)], fanzha_verdict_score(v));
        for (size_t i = 0; i < fanzha_verdict_hit_count(v); i++) {
            printf(" %s", fanzha_verdict_hit_rule(v, i));
        }
        printf("\n");
        if (fanzha_verdict_level(v) > worst) {
            worst = fanzha_verdict_level(v);
            fanzha_verdict_free(worst_verdict);
            worst_verdict = v;
        } else {
            fanzha_verdict_free(v);
        }
    }
    fclose(chat);

    int refuse = worst >= FANZHA_LEVEL_WARN;
    if (refuse) {
        printf("REFUSE to print: score %u\n", fanzha_verdict_score(worst_verdict));
        for (size_t i = 0; i < fanzha_verdict_advice_count(worst_verdict); i++) {
            printf("  advice: %s\n", fanzha_verdict_advice(worst_verdict, i));
        }
    } else {
        printf("PRINT: nothing in the chat reaches a warning\n");
    }
    fanzha_verdict_free(worst_verdict);
    fanzha_monitor_free(monitor);
    fanzha_engine_free(engine);
    return refuse ? 3 : 0;
}
