/* A lottery terminal's check before printing tickets: read the customer's chat (JSON Lines
 * events, oldest first), score it with the bundled packs through a monitor, and refuse to
 * print when any message reaches warn, showing the advice.
 *
 *   pos_check CHAT.jsonl      exit 0: print; exit 3: refuse; exit 2: could not check
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanzha.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: pos_check CHAT.jsonl\n");
        return 2;
    }
    FILE *chat = fopen(argv[1], "r");
    if (chat == NULL) {
        perror(argv[1]);
        return 2;
    }
    FanzhaEngine *engine = NULL;
    FanzhaMonitor *monitor = NULL;
    FanzhaError *err = NULL;
    if (fanzha_engine_new_bundled(&engine, &err) != FANZHA_OK ||
        fanzha_monitor_new(engine, &monitor, &err) != FANZHA_OK) {
        fprintf(stderr, "fanzha: %s\n", fanzha_error_message(err));
        fanzha_error_free(err);
        fanzha_engine_free(engine);
        fclose(chat);
        return 2;
    }

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
        for (size_t i = 0; i < fanzha_verdict_hit_count(worst_verdict); i++) {
            printf("  %s (%u)", fanzha_verdict_hit_rule(worst_verdict, i), fanzha_verdict_hit_score(worst_verdict, i));
            for (size_t j = 0; j < fanzha_verdict_hit_event_count(worst_verdict, i); j++) {
                printf(" %s", fanzha_verdict_hit_event(worst_verdict, i, j));
            }
            printf("\n");
        }
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
