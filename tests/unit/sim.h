/*
 * sim.h - the host side of the unit tests: a simulated STM32F1 NOR flash
 * and endpoint 0 behind fw/core/port.h, plus a USB host that runs whole
 * control transfers through the core's pipeline.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stdint.h>

#define SIM_FLASH_MAX (512u * 1024u)
#define SIM_STALL (-1)

struct sim {
    uint8_t flash[SIM_FLASH_MAX];
    uint32_t flash_kib;
    uint8_t uid[12];
    /* Fault injection. */
    uint32_t wrp_below;     /* pages below this address are write-protected */
    uint32_t erase_fail_at; /* page erase reports nothing and leaves this byte 0 */
    uint16_t stuck_bits;    /* bits that never clear when programming */
    long ops_left;          /* power cut: ops after this many are lost (-1 = none) */
    uint32_t torn_seed;     /* power cut during an erase: a seeded 1/64 of the page's
                               0 bits become 1 (vboard's NOR reading); 0 = left as it was */
    void (*before_erase)(uint32_t page); /* a test's look at the flash an erase meets */
    bool cut;               /* the power cut has happened (ops_left reached 0) */
    bool rdp;               /* FLASH_OBR.RDPRT: read-out protection level 1 */
    uint32_t ms;            /* port_ms(): tests move the clock */
    /* Counters. */
    unsigned erases, programs, unprotects;
    uint32_t last_erase;
};

extern struct sim sim;

/* Fresh chip: flash erased, memmap and the core reset (bus reset). */
void sim_init(uint32_t flash_kib, uint32_t app_base);
uint16_t sim_half(uint32_t addr);
uint32_t sim_word(uint32_t addr);
void sim_put(uint32_t addr, const void *data, uint32_t len); /* by debugger */

/* Control transfers as a host does them. Returns bytes transferred or
 * SIM_STALL. in_max: the receive buffer is exactly wLength bytes and every
 * byte beyond what the device sends is checked untouched. */
int sim_ctrl_in(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                uint8_t *buf);
int sim_ctrl_out(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                 const uint8_t *data);
/* Sends a raw OUT data packet of any length (a misbehaving host). */
void sim_raw_out(const uint8_t *data, unsigned len);
void sim_bus_reset(void);
/* Pieces of a transfer, for hosts that misbehave. */
bool sim_setup(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length);
void sim_setup_raw(const uint8_t *pkt, unsigned len);
bool sim_stalled(void);
bool sim_tx_armed(void);
void sim_in_taken(void); /* the host read the armed IN packet (STAT_TX -> NAK) */
unsigned sim_tx_len(void);
bool sim_rx_armed(void);
uint8_t sim_address(void);
/* Last protocol violation seen by the simulated host (0 if none). */
extern const char *sim_error;

/* DFU helpers (interface 0). */
int dfu_getstatus(uint8_t st[6]);
int dfu_dnload(uint16_t block, const uint8_t *data, uint16_t len);
int dfu_upload(uint16_t block, uint8_t *buf, uint16_t len);
int dfu_abort(void);
int dfu_clrstatus(void);
int dfuse_cmd(uint8_t cmd, uint32_t addr, bool with_addr);
uint32_t poll_ms(const uint8_t st[6]);

/* A command followed by the GETSTATUS dfu-util sends: the first must
 * say dfuDNBUSY, the others follow while it does. Returns the final bStatus, or 0x100 | state on a
 * protocol surprise. */
int dfuse_run(uint8_t cmd, uint32_t addr, bool with_addr);
int dfu_block_run(uint16_t block, const uint8_t *data, uint16_t len);
/* The whole dfu-util download: erase pass, pointer + blocks, ABORT. */
int dfu_util_download(uint32_t addr, const uint8_t *img, uint32_t len);
int dfu_util_leave(uint32_t addr);

#endif
