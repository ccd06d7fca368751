/* cmd_keygen.c - `rightsctl keygen --out FILE`: a new secp256k1 private key
 * from the OS CSPRNG, written as 0x-hex to a new file created with mode 0600
 * (never overwrites). Prints the EIP-55 address on stdout. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "hex.h"
#include "rightsctl.h"
#include "sig.h"

#define KEYGEN_ATTEMPTS_MAX 8 /* a random 32-byte string is a valid key with p ~ 1 - 2^-128 */

static bool keygen_write_file(const char *path, const char *text, size_t text_len, struct err *e);

static bool keygen_write_file(const char *path, const char *text, size_t text_len, struct err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        err_set(e, 1, "cannot create key file '%s': %s", path, strerror(errno));
        return false;
    }
    bool ok = write(fd, text, text_len) == (ssize_t)text_len && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = false;
    if (!ok) {
        err_set(e, 1, "cannot write key file '%s'", path);
        unlink(path);
    }
    return ok;
}

int cmd_keygen(struct rightsctl *ctl, int argc, char **argv)
{
    const char *out_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out_path = argv[++i];
        } else {
            log_printf(&ctl->log, LOG_ERROR, "keygen: unknown argument '%s'", argv[i]);
            return RIGHTSCTL_EXIT_USAGE;
        }
    }
    if (out_path == NULL) {
        log_printf(&ctl->log, LOG_ERROR, "keygen: --out FILE is required");
        return RIGHTSCTL_EXIT_USAGE;
    }
    struct err e = {0};
    uint8_t raw[32];
    struct sig_private_key key;
    bool have = false;
    for (int i = 0; i < KEYGEN_ATTEMPTS_MAX && !have; i++)
        have = crypto_random_bytes(raw, sizeof raw, &e) == CRYPTO_OK &&
               sig_private_key_from_bytes(&key, raw, &e) == SIG_OK;
    char text[2 + 64 + 2];
    struct address addr;
    int rc = RIGHTSCTL_EXIT_FAIL;
    if (have && hex_encode_0x(text, sizeof text - 1, raw, sizeof raw) == 0 &&
        sig_private_key_address(&addr, &key, &e) == SIG_OK) {
        size_t len = strlen(text);
        text[len++] = '\n';
        if (keygen_write_file(out_path, text, len, &e)) {
            char addr_text[ADDRESS_TEXT_SIZE];
            address_format_checksum(addr_text, &addr);
            printf("%s\n", addr_text);
            rc = RIGHTSCTL_EXIT_OK;
        }
    }
    if (rc != RIGHTSCTL_EXIT_OK)
        log_write(&ctl->log, LOG_ERROR, "keygen failed", LOG_KVS(log_str("error", e.msg)));
    crypto_wipe(raw, sizeof raw);
    crypto_wipe(text, sizeof text);
    if (have)
        sig_private_key_wipe(&key);
    return rc;
}
