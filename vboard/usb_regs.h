/*
 * usb_regs.h - register layout of the STM32F103 USB device peripheral
 * (RM0008 23.5), shared by usb.c and its unit tests.
 */
#ifndef VB_USB_REGS_H
#define VB_USB_REGS_H

#define USB_REG_BASE 0x40005C00u
#define USB_PMA_BASE 0x40006000u
#define USB_PMA_SIZE 512u

/* Offsets from USB_REG_BASE; EPnR at 4 * n. */
#define USB_CNTR 0x40u
#define USB_ISTR 0x44u
#define USB_FNR 0x48u
#define USB_DADDR 0x4Cu
#define USB_BTABLE 0x50u

/* EPnR (RM0008 23.5.2) */
#define USB_EP_CTR_RX 0x8000u  /* rc_w0 */
#define USB_EP_DTOG_RX 0x4000u /* t */
#define USB_EP_STAT_RX 0x3000u /* t */
#define USB_EP_SETUP 0x0800u   /* r */
#define USB_EP_TYPE 0x0600u    /* rw */
#define USB_EP_KIND 0x0100u    /* rw */
#define USB_EP_CTR_TX 0x0080u  /* rc_w0 */
#define USB_EP_DTOG_TX 0x0040u /* t */
#define USB_EP_STAT_TX 0x0030u /* t */
#define USB_EP_EA 0x000Fu      /* rw */
#define USB_EP_TOGGLE (USB_EP_DTOG_RX | USB_EP_STAT_RX | USB_EP_DTOG_TX | USB_EP_STAT_TX)
#define USB_EP_TYPE_BULK 0x0000u
#define USB_EP_TYPE_CONTROL 0x0200u
#define USB_EP_TYPE_ISO 0x0400u
#define USB_EP_TYPE_INTERRUPT 0x0600u
#define USB_STAT_DISABLED 0u
#define USB_STAT_STALL 1u
#define USB_STAT_NAK 2u
#define USB_STAT_VALID 3u

/* CNTR */
#define USB_CNTR_CTRM 0x8000u
#define USB_CNTR_PMAOVRM 0x4000u
#define USB_CNTR_ERRM 0x2000u
#define USB_CNTR_WKUPM 0x1000u
#define USB_CNTR_SUSPM 0x0800u
#define USB_CNTR_RESETM 0x0400u
#define USB_CNTR_SOFM 0x0200u
#define USB_CNTR_ESOFM 0x0100u
#define USB_CNTR_RESUME 0x0010u
#define USB_CNTR_FSUSP 0x0008u
#define USB_CNTR_LP_MODE 0x0004u
#define USB_CNTR_PDWN 0x0002u
#define USB_CNTR_FRES 0x0001u
#define USB_CNTR_MASK 0xFF1Fu

/* ISTR */
#define USB_ISTR_CTR 0x8000u
#define USB_ISTR_PMAOVR 0x4000u
#define USB_ISTR_ERR 0x2000u
#define USB_ISTR_WKUP 0x1000u
#define USB_ISTR_SUSP 0x0800u
#define USB_ISTR_RESET 0x0400u
#define USB_ISTR_SOF 0x0200u
#define USB_ISTR_ESOF 0x0100u
#define USB_ISTR_FLAGS 0x7F00u /* rc_w0; CTR, DIR, EP_ID are read-only */
#define USB_ISTR_DIR 0x0010u
#define USB_ISTR_EP_ID 0x000Fu

/* FNR, DADDR */
#define USB_FNR_RXDP 0x8000u
#define USB_FNR_RXDM 0x4000u
#define USB_FNR_LCK 0x2000u
#define USB_DADDR_EF 0x0080u

/* Size in bytes of the RX buffer a COUNTn_RX value allocates. */
unsigned usb_rx_bufsize(unsigned short count_rx);

#endif
