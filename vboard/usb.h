/*
 * usb.h - the USB full-speed device peripheral model (usb.c) and the host
 * side that drives it (usb_host.c: host controller + hub + enumeration;
 * usbip_server.c: export over USB/IP). This header is what the board needs
 * to create and run them; the transaction-level API between usb_host.c and
 * usb.c is declared below it.
 */
#ifndef VB_USB_H
#define VB_USB_H

#include "vb.h"

struct usb_model;
struct usb_host;

/* Creates the peripheral: registers at 0x40005C00 and the packet memory at
 * 0x40006000 (vb_mmio), IRQ lines 19/20/42 through vb_irq. */
struct usb_model *usb_model_new(struct vb *vb);
/* System reset: registers back to their reset values (CNTR = FRES|PDWN). */
void usb_model_reset(struct usb_model *m);
void usb_model_free(struct usb_model *m);

/* Host side. Listens for USB/IP clients on bind_addr:port (port 0 = no
 * listener, for unit tests). */
struct usb_host *usb_host_new(struct vb *vb, struct usb_model *dev, const char *bind_addr,
                              uint16_t port);
/* Called by the board between CPU slices: serves sockets (waiting at most
 * wait_ms of wall time for socket activity; 0 = do not wait) and performs
 * the bus activity due at the current virtual time (SOFs, transactions,
 * connect/disconnect detection, enumeration). Returns the virtual time in ns
 * at which it next wants to run (UINT64_MAX when idle). */
uint64_t usb_host_poll(struct usb_host *h, int wait_ms);
/* A noisy cable (--usb-errors RATE[,SEED]): each packet on the wire is
 * lost with probability rate (0..1), from a generator seeded with seed;
 * the host retries as USB 2.0 8.5 says (three strikes). Prints the seed. */
void usb_host_set_errors(struct usb_host *h, double rate, uint64_t seed);
/* Power cut or end of run: every importer is disconnected. */
void usb_host_free(struct usb_host *h);

/* ---- Transaction-level device API (usb_host.c -> usb.c) ----------------- */
enum usb_hs { USB_HS_ACK, USB_HS_NAK, USB_HS_STALL, USB_HS_NONE /* no answer */ };

/* Each call is one complete transaction addressed to addr/ep as seen on the
 * wire. The model applies RM0008 23.4 (address match against DADDR, EPnR
 * EA/STAT/DTOG, PMA buffer descriptors) and sets CTR flags for the firmware.
 * data_pid is 0 for DATA0, 1 for DATA1. */
enum usb_hs usb_dev_setup(struct usb_model *m, uint8_t addr, const uint8_t setup[8]);
enum usb_hs usb_dev_out(struct usb_model *m, uint8_t addr, uint8_t ep, const uint8_t *data,
                        size_t len, int data_pid);
/* On ACK: *len bytes copied into buf (at most max), *data_pid the PID sent. */
enum usb_hs usb_dev_in(struct usb_model *m, uint8_t addr, uint8_t ep, uint8_t *buf, size_t max,
                       size_t *len, int *data_pid);
/* The same IN transaction, host_ack false when the device's data packet
 * reached the host corrupted or the host's ACK was lost: the device sent
 * the packet (buf, *len, *data_pid filled) but keeps its state for the
 * retry. usb_dev_in is this with host_ack true. */
enum usb_hs usb_dev_in_acked(struct usb_model *m, uint8_t addr, uint8_t ep, uint8_t *buf,
                             size_t max, size_t *len, int *data_pid, bool host_ack);
void usb_dev_bus_reset(struct usb_model *m); /* SE0 >= 10 ms: ISTR.RESET */
void usb_dev_sof(struct usb_model *m);       /* start of frame: FNR, ISTR.SOF */
void usb_dev_suspend(struct usb_model *m);   /* idle bus >= 3 ms: ISTR.SUSP */
/* CNTR.PDWN (transceiver off): what the board's vb_usb_powered_down answers. */
bool usb_model_pdwn(const struct usb_model *m);

#endif
