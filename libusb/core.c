/*
 * core.c - library-wide entry points: contexts, options, version, error
 * names. A context is just the list of USB/IP servers to ask.
 *
 * Environment, read by libusb_init:
 *   LIBUSB_USBIP_SERVERS  host:port[,host:port...] (default 127.0.0.1:3240);
 *                         server i is bus i + 1, one that refuses is skipped
 *   LIBUSB_USBIP_DEBUG    1: every URB and operation on stderr
 *   LIBUSB_USBIP_WAIT_MS  bound of the waits for a device its server is
 *                         resetting (open 3000, reset 2000, list 1000 ms)
 * Not thread-safe: one thread per context, as dfu-util, lsusb and pyusb use
 * it (libusb_lock_events serializes event handling, but submitting from one
 * thread while another handles events is not supported).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct libusb_context *default_ctx;

struct libusb_context *usbi_ctx(struct libusb_context *ctx)
{
    return ctx ? ctx : default_ctx;
}

static struct libusb_context *ctx_new(void)
{
    struct libusb_context *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nservers = usbip_parse_servers(getenv("LIBUSB_USBIP_SERVERS"), &c->servers);
    c->server_ext = calloc((size_t)c->nservers + 1, sizeof *c->server_ext);
    if (!c->server_ext) {
        free(c->servers);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->events_lock, NULL);
    pthread_mutex_init(&c->waiters_lock, NULL);
    pthread_cond_init(&c->waiters_cond, NULL);
    const char *d = getenv("LIBUSB_USBIP_DEBUG");
    c->debug = d && *d && strcmp(d, "0") != 0;
    /* LIBUSB_USBIP_WAIT_MS bounds the waits for a device that the server
     * is resetting (tests shorten them). */
    const char *w = getenv("LIBUSB_USBIP_WAIT_MS");
    c->open_wait_ms = w && *w ? atoi(w) : 5000;
    c->reset_wait_ms = w && *w ? atoi(w) : 3000;
    c->list_wait_ms = w && *w ? atoi(w) : 2000;
    c->empty_wait_ms = w && *w ? atoi(w) / 4 : 1000;
    return c;
}

API int libusb_init(libusb_context **ctx)
{
    if (ctx) {
        *ctx = ctx_new();
        return *ctx ? 0 : LIBUSB_ERROR_NO_MEM;
    }
    /* The default context is shared and counted, as in libusb. */
    if (!default_ctx && !(default_ctx = ctx_new()))
        return LIBUSB_ERROR_NO_MEM;
    default_ctx->users++;
    return 0;
}

API void libusb_exit(libusb_context *ctx)
{
    if (!ctx) {
        if (!default_ctx || --default_ctx->users > 0)
            return;
        ctx = default_ctx;
        default_ctx = NULL;
    }
    /* Handles the application forgot: close their connections. */
    while (ctx->handles)
        libusb_close(ctx->handles);
    /* Devices die with their context, as in libusb (lsusb frees its list
     * without unreferencing the devices). */
    while (ctx->devices)
        usbi_free_device(ctx->devices);
    /* Transfers of handles closed above were reported; any left in the
     * done queue (never handled) are dropped with the context. */
    free(ctx->servers);
    free(ctx->server_ext);
    pthread_mutex_destroy(&ctx->events_lock);
    pthread_mutex_destroy(&ctx->waiters_lock);
    pthread_cond_destroy(&ctx->waiters_cond);
    free(ctx);
}

API void libusb_set_debug(libusb_context *ctx, int level)
{
    (void)ctx;
    (void)level;
}

API void libusb_set_log_cb(libusb_context *ctx, libusb_log_cb cb, int mode)
{
    (void)ctx;
    (void)cb;
    (void)mode;
}

/* Options are accepted and ignored: there is no log to level, no usbfs to
 * avoid scanning, no Windows backend. */
API int libusb_set_option(libusb_context *ctx, enum libusb_option option, ...)
{
    (void)ctx;
    switch ((int)option) {
    case LIBUSB_OPTION_LOG_LEVEL:
    case LIBUSB_OPTION_USE_USBDK:
    case LIBUSB_OPTION_NO_DEVICE_DISCOVERY:
        return 0;
    default:
        return LIBUSB_ERROR_INVALID_PARAM;
    }
}

API const struct libusb_version *libusb_get_version(void)
{
    static const struct libusb_version v = {1, 0, 26, 0, "-usbip", "https://libusb.info"};
    return &v;
}

API int libusb_has_capability(uint32_t capability)
{
    /* Only the basic API; no hotplug, no kernel drivers to detach. */
    return capability == LIBUSB_CAP_HAS_CAPABILITY;
}

API int libusb_setlocale(const char *locale)
{
    if (!locale || strlen(locale) < 2)
        return LIBUSB_ERROR_INVALID_PARAM;
    return strncmp(locale, "en", 2) == 0 ? 0 : LIBUSB_ERROR_NOT_FOUND;
}

static const struct {
    int code;
    const char *name, *text;
} errors[] = {
    /* 0 is also LIBUSB_TRANSFER_COMPLETED; libusb names both. */
    {LIBUSB_SUCCESS, "LIBUSB_SUCCESS / LIBUSB_TRANSFER_COMPLETED", "Success"},
    {LIBUSB_ERROR_IO, "LIBUSB_ERROR_IO", "Input/Output Error"},
    {LIBUSB_ERROR_INVALID_PARAM, "LIBUSB_ERROR_INVALID_PARAM", "Invalid parameter"},
    {LIBUSB_ERROR_ACCESS, "LIBUSB_ERROR_ACCESS", "Access denied (insufficient permissions)"},
    {LIBUSB_ERROR_NO_DEVICE, "LIBUSB_ERROR_NO_DEVICE",
     "No such device (it may have been disconnected)"},
    {LIBUSB_ERROR_NOT_FOUND, "LIBUSB_ERROR_NOT_FOUND", "Entity not found"},
    {LIBUSB_ERROR_BUSY, "LIBUSB_ERROR_BUSY", "Resource busy"},
    {LIBUSB_ERROR_TIMEOUT, "LIBUSB_ERROR_TIMEOUT", "Operation timed out"},
    {LIBUSB_ERROR_OVERFLOW, "LIBUSB_ERROR_OVERFLOW", "Overflow"},
    {LIBUSB_ERROR_PIPE, "LIBUSB_ERROR_PIPE", "Pipe error"},
    {LIBUSB_ERROR_INTERRUPTED, "LIBUSB_ERROR_INTERRUPTED", "System call interrupted (perhaps due to signal)"},
    {LIBUSB_ERROR_NO_MEM, "LIBUSB_ERROR_NO_MEM", "Insufficient memory"},
    {LIBUSB_ERROR_NOT_SUPPORTED, "LIBUSB_ERROR_NOT_SUPPORTED",
     "Operation not supported or unimplemented on this platform"},
    {LIBUSB_ERROR_OTHER, "LIBUSB_ERROR_OTHER", "Other error"},
};

API const char *libusb_error_name(int code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return errors[i].name;
    /* libusb_error_name also names transfer statuses. */
    switch (code) {
    case LIBUSB_TRANSFER_ERROR: return "LIBUSB_TRANSFER_ERROR";
    case LIBUSB_TRANSFER_TIMED_OUT: return "LIBUSB_TRANSFER_TIMED_OUT";
    case LIBUSB_TRANSFER_CANCELLED: return "LIBUSB_TRANSFER_CANCELLED";
    case LIBUSB_TRANSFER_STALL: return "LIBUSB_TRANSFER_STALL";
    case LIBUSB_TRANSFER_NO_DEVICE: return "LIBUSB_TRANSFER_NO_DEVICE";
    case LIBUSB_TRANSFER_OVERFLOW: return "LIBUSB_TRANSFER_OVERFLOW";
    }
    return "**UNKNOWN**";
}

API const char *libusb_strerror(int code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return errors[i].text;
    return "Unknown error";
}
