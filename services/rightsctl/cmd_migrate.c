/* cmd_migrate.c - `rightsctl migrate [--dir DIR]`. */
#include <string.h>

#include "migrate.h"
#include "pg.h"
#include "rightsctl.h"

int cmd_migrate(struct rightsctl *ctl, int argc, char **argv)
{
    const char *dir = "migrations";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            log_printf(&ctl->log, LOG_ERROR, "migrate: unknown argument '%s'", argv[i]);
            return RIGHTSCTL_EXIT_USAGE;
        }
    }
    static const char *const names[] = {"DATABASE_URL", "LOG_LEVEL", NULL};
    if (!rightsctl_load_config(ctl, names))
        return RIGHTSCTL_EXIT_USAGE;
    log_set_level(&ctl->log, ctl->cfg.log_level);

    struct pg_session pc;
    struct err e = {0};
    if (pg_connect(&pc, ctl->cfg.database_url, PG_CONNECT_TIMEOUT_S_DEFAULT, &e) != PG_OK) {
        log_write(&ctl->log, LOG_ERROR, "cannot connect to postgres",
                  LOG_KVS(log_str("error", e.msg)));
        return RIGHTSCTL_EXIT_FAIL;
    }
    size_t applied = 0;
    enum migrate_result r = migrate_run(&pc, dir, &applied, &e);
    pg_release(&pc);
    if (r != MIGRATE_OK) {
        log_write(&ctl->log, LOG_ERROR, "migration failed",
                  LOG_KVS(log_str("dir", dir), log_i64("code", r), log_str("error", e.msg)));
        return RIGHTSCTL_EXIT_FAIL;
    }
    log_write(&ctl->log, LOG_INFO, "migrations up to date",
              LOG_KVS(log_str("dir", dir), log_u64("applied", applied)));
    return RIGHTSCTL_EXIT_OK;
}
