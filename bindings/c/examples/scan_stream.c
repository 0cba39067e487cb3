/* `fanzha scan` in C: JSON Lines events in, one verdict per line out, through a monitor (so
 * windows and sequences work), with the bundled packs or the rules at $FANZHA_RULES.
 *
 *   scan_stream < events.jsonl > verdicts.jsonl
 *
 * A line that cannot be read gives {"line":N,"error":"..."} in its place, as the command does.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanzha.h"

/* Writes `s` as a JSON string. */
static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(void) {
    FanzhaEngine *engine = NULL;
    FanzhaMonitor *monitor = NULL;
    FanzhaError *err = NULL;
    const char *rules = getenv("FANZHA_RULES");
    FanzhaStatus status = rules ? fanzha_engine_from_path(rules, &engine, &err) : fanzha_engine_new_bundled(&engine, &err);
    if (status != FANZHA_OK || fanzha_monitor_new(engine, &monitor, &err) != FANZHA_OK) {
        fprintf(stderr, "%s\n", fanzha_error_message(err));
        fanzha_error_free(err);
        fanzha_engine_free(engine);
        return 2;
    }
    static char line[1 << 20];
    unsigned long n = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        n++;
        size_t len = strcspn(line, "\r\n");
        FanzhaVerdict *v = NULL;
        if (fanzha_monitor_observe_json(monitor, line, len, &v, &err) == FANZHA_OK) {
            char *json = fanzha_verdict_json(v);
            puts(json);
            fanzha_string_free(json);
            fanzha_verdict_free(v);
        } else {
            printf("{\"line\":%lu,\"error\":", n);
            json_string(fanzha_error_message(err));
            puts("}");
            fanzha_error_free(err);
            err = NULL;
        }
    }
    fanzha_monitor_free(monitor);
    fanzha_engine_free(engine);
    return 0;
}
