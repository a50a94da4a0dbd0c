/*
 * test_usb.c - the USB device peripheral model (vboard/usb.c) against
 * RM0008 chapter 23, driven through fake_vb: register accesses as the CPU
 * makes them, transactions as the host side makes them. Each test quotes the
 * rule it checks.
 */
#include "../../vboard/usb.h"
#include "../../vboard/usb_regs.h"
#include "../testing.h"
#include "fake_vb.h"
#include "usb_testfw.h"

static struct usb_model *m;

/* A running peripheral: clock on, out of reset, EP0 control with a 64-byte
 * RX buffer at 0x80 and TX at 0x40, function enabled at address 0. */
static void setup_dev(void)
{
    fake_reset();
    if (m)
        usb_model_free(m);
    m = usb_model_new(fake_vb);
    fw_defaults(64, "S");
    fw_start();
    fw_init_ep0();
    fake_violations = 0;
}

static uint16_t ep(unsigned n) { return fw_ep_read(n); }
static unsigned stat_rx(unsigned n) { return (ep(n) >> 12) & 3; }
static unsigned stat_tx(unsigned n) { return (ep(n) >> 4) & 3; }

static const uint8_t setup_pkt[8] = {0x80, 6, 0, 1, 0, 0, 18, 0};

TEST(reset_values)
{
    /* RM0008 23.5.2: CNTR reset value 0x0003 (FRES|PDWN); ISTR, DADDR,
     * BTABLE and EPnR reset to 0x0000. */
    fake_reset();
    m = usb_model_new(fake_vb);
    CHECK_EQ(fw_reg(USB_CNTR), USB_CNTR_FRES | USB_CNTR_PDWN);
    CHECK_EQ(fw_reg(USB_ISTR), 0);
    CHECK_EQ(fw_reg(USB_DADDR), 0);
    CHECK_EQ(fw_reg(USB_BTABLE), 0);
    for (unsigned n = 0; n < 8; n++)
        CHECK_EQ(ep(n), 0);
    CHECK(usb_model_pdwn(m), "PDWN set at reset");
    CHECK_EQ(fake_violations, 0);
}

TEST(fres_holds_in_reset)
{
    /* RM0008 23.5.2 FRES: "The USB peripheral is held in RESET state until
     * software clears this bit. A USB-RESET interrupt is generated, if
     * enabled." */
    setup_dev();
    fw_reg_write(USB_CNTR, USB_CNTR_FRES | USB_CNTR_RESETM);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_RESET, "RESET flag after FRES");
    CHECK(fake_irq_level[20], "USB_LP raised for RESET with RESETM");
    fw_reg_write(USB_DADDR, USB_DADDR_EF);
    fw_set_stat(0, USB_STAT_VALID, -1);
    fw_ep_write(0, USB_EP_TYPE_CONTROL | USB_EP_CTR_RX | USB_EP_CTR_TX);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE);
    fw_reg_write(USB_CNTR, USB_CNTR_PDWN);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE); /* transceiver off */
}

TEST(ctr_bits_rc_w0)
{
    /* RM0008 23.5.2 EPnR CTR_RX: "This bit is set by the hardware when an
     * OUT/SETUP transaction is successfully completed on this endpoint; the
     * software can only clear this bit ... writing 0"; writing 1 has no
     * effect. */
    setup_dev();
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_ACK);
    uint16_t v = ep(0);
    CHECK(v & USB_EP_CTR_RX, "CTR_RX set, EP0R=0x%04x", v);
    fw_ep_write(0, USB_EP_TYPE_CONTROL | USB_EP_CTR_RX | USB_EP_CTR_TX);
    CHECK(ep(0) & USB_EP_CTR_RX, "writing 1 leaves CTR_RX");
    fw_ep_write(0, USB_EP_TYPE_CONTROL | USB_EP_CTR_TX);
    CHECK(!(ep(0) & USB_EP_CTR_RX), "writing 0 clears CTR_RX");
    CHECK_EQ(fake_violations, 0);
}

TEST(stat_and_dtog_toggle_on_one)
{
    /* RM0008 23.5.2 STAT_RX/STAT_TX/DTOG_RX/DTOG_TX: "These bits can be
     * toggled by software writing '1' ... Writing '0' has no effect." */
    setup_dev();
    fw_ep_write(1, USB_EP_CTR_RX | USB_EP_CTR_TX | 1);
    CHECK_EQ(ep(1) & USB_EP_TOGGLE, 0);
    fw_ep_write(1, USB_EP_CTR_RX | USB_EP_CTR_TX | 1 | 0x3000 | 0x0040);
    CHECK_EQ(stat_rx(1), USB_STAT_VALID);
    CHECK(ep(1) & USB_EP_DTOG_TX, "DTOG_TX toggled to 1");
    fw_ep_write(1, USB_EP_CTR_RX | USB_EP_CTR_TX | 1 | 0x1000);
    CHECK_EQ(stat_rx(1), USB_STAT_NAK); /* 11 ^ 01 = 10 */
    fw_ep_write(1, USB_EP_CTR_RX | USB_EP_CTR_TX | 1);
    CHECK_EQ(stat_rx(1), USB_STAT_NAK); /* 0 leaves */
    CHECK(ep(1) & USB_EP_DTOG_TX, "writing 0 leaves DTOG_TX");
}

TEST(setup_readonly_type_kind_ea_rw)
{
    /* RM0008 23.5.2: SETUP is read-only ("r"); EP_TYPE, EP_KIND and EA are
     * read/write. */
    setup_dev();
    fw_ep_write(2, USB_EP_CTR_RX | USB_EP_CTR_TX | USB_EP_SETUP | USB_EP_TYPE_INTERRUPT |
                       USB_EP_KIND | 5);
    uint16_t v = ep(2);
    CHECK(!(v & USB_EP_SETUP), "SETUP not writable: 0x%04x", v);
    CHECK_EQ(v & (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA), USB_EP_TYPE_INTERRUPT | USB_EP_KIND | 5);
}

TEST(istr_flags_rc_w0_ctr_readonly)
{
    /* RM0008 23.5.2 ISTR: flag bits are "rc_w0"; CTR, DIR and EP_ID are
     * read-only and follow the pending endpoint. */
    setup_dev();
    usb_dev_bus_reset(m);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_RESET, "RESET flagged");
    fw_reg_write(USB_ISTR, 0xFFFF);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_RESET, "writing 1 leaves RESET");
    CHECK(!(fw_reg(USB_ISTR) & USB_ISTR_SOF), "writing 1 does not set SOF");
    fw_reg_write(USB_ISTR, (uint16_t)~USB_ISTR_RESET);
    CHECK(!(fw_reg(USB_ISTR) & USB_ISTR_RESET), "writing 0 clears RESET");
    fw_init_ep0();
    usb_dev_setup(m, 0, setup_pkt);
    uint16_t i = fw_reg(USB_ISTR);
    CHECK_EQ(i & (USB_ISTR_CTR | USB_ISTR_DIR | USB_ISTR_EP_ID), USB_ISTR_CTR | USB_ISTR_DIR);
    fw_reg_write(USB_ISTR, 0);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_CTR, "CTR not cleared by writing ISTR");
}

TEST(ep_id_priority)
{
    /* RM0008 23.5.2 EP_ID: "Isochronous and double-buffered bulk endpoints
     * are considered first and then the other endpoints are examined. If
     * more than one endpoint from the same set is requesting an interrupt,
     * the EP_ID bits ... are assigned according to the lowest requesting
     * endpoint register". DIR=0: "CTR_TX bit set, IN transaction". */
    setup_dev();
    fw_reg_write(USB_CNTR, USB_CNTR_CTRM);
    for (unsigned n = 1; n <= 3; n++) {
        fw_bd_write(n, 0, (uint16_t)(0x100 + 0x10 * n));
        fw_bd_write(n, 1, 0);
        fw_ep_write(n, (uint16_t)(USB_EP_CTR_RX | USB_EP_CTR_TX | USB_EP_TYPE_BULK | n));
        fw_set_stat(n, -1, USB_STAT_VALID);
    }
    uint8_t b[64];
    size_t len;
    int pid;
    CHECK_EQ(usb_dev_in(m, 0, 3, b, 64, &len, &pid), USB_HS_ACK);
    CHECK_EQ(usb_dev_in(m, 0, 2, b, 64, &len, &pid), USB_HS_ACK);
    CHECK_EQ(fw_reg(USB_ISTR) & 0x801F, USB_ISTR_CTR | 2);
    CHECK(fake_irq_level[20] && !fake_irq_level[19], "CTR on plain bulk goes to USB_LP");
    /* EP3 becomes double-buffered bulk (EP_KIND) with its CTR pending. */
    fw_ep_write(3, USB_EP_CTR_RX | USB_EP_CTR_TX | USB_EP_KIND | 3);
    CHECK_EQ(fw_reg(USB_ISTR) & 0x801F, USB_ISTR_CTR | 3);
    CHECK(fake_irq_level[19], "double-buffered CTR raises USB_HP");
}

TEST(pma_layout_16_in_32)
{
    /* RM0008 23.5: packet memory words sit at 32-bit aligned addresses;
     * "the actual memory location address must be multiplied by two". */
    setup_dev();
    fake_write(USB_PMA_BASE + 2 * 0x100, 0xBEEF, 2);
    fake_write(USB_PMA_BASE + 2 * 0x102, 0x12345678, 4);
    uint8_t b[4];
    fw_pma_read(0x100, b, 4);
    CHECK(b[0] == 0xEF && b[1] == 0xBE && b[2] == 0x78 && b[3] == 0x56, "PMA %02x %02x %02x %02x",
          b[0], b[1], b[2], b[3]);
    CHECK_EQ(fake_read(USB_PMA_BASE + 2 * 0x102, 4), 0x5678); /* upper half not memory */
    CHECK_EQ(fake_read(USB_PMA_BASE + 2 * 0x100 + 1, 1), 0xBE);
    CHECK_EQ(fake_violations, 0);
    fake_read(USB_PMA_BASE + 2 * 0x100 + 2, 2);
    CHECK_EQ(fake_violations, 1);
    fake_write(USB_PMA_BASE + 2 * 0x100, 1, 1);
    CHECK_EQ(fake_violations, 2);
    CHECK(strstr(fake_last_violation, "RM0008 23.5"), "cites: %s", fake_last_violation);
    CHECK(!fake_mapped(USB_PMA_BASE + 0x400), "PMA window is 512 x 2 bytes");
}

TEST(count_rx_block_sizes)
{
    /* RM0008 23.5.3 COUNTn_RX: BL_SIZE=0 -> 2-byte blocks (NUM_BLOCK x 2),
     * BL_SIZE=1 -> 32-byte blocks ((NUM_BLOCK + 1) x 32). */
    CHECK_EQ(usb_rx_bufsize(4 << 10), 8);
    CHECK_EQ(usb_rx_bufsize(31 << 10), 62);
    CHECK_EQ(usb_rx_bufsize(0x8000 | 1 << 10), 64);
    CHECK_EQ(usb_rx_bufsize(0x8000 | 31 << 10), 1024);
}

TEST(setup_accepted_on_nak_and_stall)
{
    /* RM0008 23.4.2: "When the STAT_RX bits are set to '01' (STALL) or '10'
     * (NAK) and a SETUP token is received, the USB accepts the data ... and
     * sends back an ACK handshake"; DTOG_TX set to 1, DTOG_RX to 0 then
     * toggled by the DATA0 received (next OUT expected DATA1), "both STAT_TX
     * and STAT_RX are set to '10' (NAK)". */
    for (int s = 1; s <= 2; s++) {
        setup_dev();
        fw_set_stat(0, s, USB_STAT_STALL);
        CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_ACK);
        uint16_t v = ep(0);
        CHECK(v & USB_EP_SETUP, "SETUP bit, EP0R=0x%04x", v);
        CHECK(v & USB_EP_DTOG_TX, "DTOG_TX=1");
        CHECK(v & USB_EP_DTOG_RX, "DTOG_RX=1 after the DATA0 SETUP");
        CHECK_EQ(stat_rx(0), USB_STAT_NAK);
        CHECK_EQ(stat_tx(0), USB_STAT_NAK);
        uint8_t b[8];
        fw_pma_read(FW_RX, b, 8);
        CHECK(!memcmp(b, setup_pkt, 8), "setup stored at ADDR0_RX");
        CHECK_EQ(fake_read(USB_PMA_BASE + 2 * 6, 2) & 0x3FF, 8);
    }
}

TEST(setup_ignored_while_ctr_rx_pending)
{
    /* RM0008 23.4.2: "If that endpoint has a previously issued CTR_RX
     * request not yet acknowledged by the application ... the USB discards
     * the SETUP transaction and does not answer with any handshake packet". */
    setup_dev();
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_ACK);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE);
    fw_clear_ctr(0, USB_EP_CTR_RX);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_ACK);
    /* DISABLED: "all reception requests addressed to this endpoint are
     * ignored". */
    fw_clear_ctr(0, USB_EP_CTR_RX);
    fw_set_stat(0, USB_STAT_DISABLED, -1);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE);
}

TEST(out_valid_stores_and_naks)
{
    /* RM0008 23.4.2 reception: data to ADDRn_RX, COUNTn_RX updated,
     * DTOG_RX toggled, STAT_RX = NAK, CTR_RX = 1. */
    setup_dev();
    fw_ep_write(0, USB_EP_TYPE_CONTROL | USB_EP_CTR_RX | USB_EP_CTR_TX | USB_EP_DTOG_RX);
    CHECK(ep(0) & USB_EP_DTOG_RX, "DTOG_RX=1");
    const uint8_t d[5] = {1, 2, 3, 4, 5};
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 5, 1), USB_HS_ACK);
    uint16_t v = ep(0);
    CHECK(v & USB_EP_CTR_RX, "CTR_RX");
    CHECK(!(v & USB_EP_SETUP), "SETUP=0 for OUT");
    CHECK(!(v & USB_EP_DTOG_RX), "DTOG_RX toggled");
    CHECK_EQ(stat_rx(0), USB_STAT_NAK);
    uint16_t count = (uint16_t)fake_read(USB_PMA_BASE + 2 * 6, 2);
    CHECK_EQ(count, 0x8000 | 1 << 10 | 5); /* BL_SIZE/NUM_BLOCK kept */
    uint8_t b[5];
    fw_pma_read(FW_RX, b, 5);
    CHECK(!memcmp(b, d, 5), "data in PMA");
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 5, 0), USB_HS_NAK);
}

TEST(out_nak_stall_disabled)
{
    /* RM0008 23.5.2 STAT_RX: 00 DISABLED "all reception requests ... are
     * ignored", 01 STALL "... result in a STALL handshake", 10 NAK "... in
     * a NAK handshake". */
    setup_dev();
    const uint8_t d[1] = {0};
    static const enum usb_hs want[3] = {USB_HS_NONE, USB_HS_STALL, USB_HS_NAK};
    for (int s = 0; s < 3; s++) {
        fw_set_stat(0, s, -1);
        CHECK_EQ(usb_dev_out(m, 0, 0, d, 1, 0), want[s]);
        fw_set_stat(0, -1, s);
        uint8_t b[64];
        size_t len;
        int pid;
        CHECK_EQ(usb_dev_in(m, 0, 0, b, 64, &len, &pid), want[s]);
    }
    CHECK(!(ep(0) & (USB_EP_CTR_RX | USB_EP_CTR_TX)), "no CTR");
}

TEST(out_overrun_stalls_without_ctr)
{
    /* RM0008 23.4.2: "If a received packet is longer than the allocated
     * buffer area ... a STALL handshake is sent instead of the normal ACK
     * ... no interrupt is generated". */
    setup_dev();
    fw_bd_write(0, 3, 4 << 10); /* 8 bytes */
    uint8_t d[9] = {0};
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 9, 0), USB_HS_STALL);
    CHECK(!(ep(0) & USB_EP_CTR_RX), "no CTR_RX");
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 8, 0), USB_HS_ACK);
}

TEST(out_toggle_mismatch_acked_not_stored)
{
    /* RM0008 DTOG_RX: toggled "following a data packet reception having a
     * matching data PID value"; a mismatch is a retransmission (USB 2.0
     * 8.6.4): ACKed, not stored, no CTR. */
    setup_dev();
    uint8_t d[2] = {7, 7};
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 2, 1), USB_HS_ACK);
    CHECK(!(ep(0) & USB_EP_CTR_RX), "no CTR_RX on mismatch");
    CHECK_EQ(stat_rx(0), USB_STAT_VALID);
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 2, 0), USB_HS_ACK);
    CHECK(ep(0) & USB_EP_CTR_RX, "CTR_RX on match");
}

TEST(status_out_kind)
{
    /* RM0008 23.5.2 EP_KIND on control endpoints (STATUS_OUT): "all OUT
     * transactions containing more than zero data bytes are answered 'STALL'
     * instead of 'ACK'". */
    setup_dev();
    fw_ep_write(0, USB_EP_TYPE_CONTROL | USB_EP_KIND | USB_EP_CTR_RX | USB_EP_CTR_TX);
    uint8_t d[1] = {0};
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 1, 0), USB_HS_STALL);
    CHECK_EQ(usb_dev_out(m, 0, 0, d, 0, 0), USB_HS_ACK);
}

TEST(in_valid_sends_and_toggles)
{
    /* RM0008 23.4.2 transmission: COUNTn_TX bytes from ADDRn_TX with PID
     * DTOG_TX; on the host's ACK DTOG_TX toggles, STAT_TX = NAK, CTR_TX = 1. */
    setup_dev();
    const uint8_t d[3] = {9, 8, 7};
    fw_pma_write(FW_TX, d, 3);
    fw_bd_write(0, 1, 3);
    fw_set_stat(0, -1, USB_STAT_VALID);
    uint8_t b[64];
    size_t len = 0;
    int pid = -1;
    CHECK_EQ(usb_dev_in(m, 0, 0, b, 64, &len, &pid), USB_HS_ACK);
    CHECK_EQ(len, 3);
    CHECK_EQ(pid, 0);
    CHECK(!memcmp(b, d, 3), "IN data");
    CHECK(ep(0) & USB_EP_CTR_TX, "CTR_TX");
    CHECK(ep(0) & USB_EP_DTOG_TX, "DTOG_TX toggled");
    CHECK_EQ(stat_tx(0), USB_STAT_NAK);
    CHECK_EQ(fw_reg(USB_ISTR) & 0x801F, USB_ISTR_CTR); /* DIR=0, EP_ID=0 */
}

TEST(address_and_ea_match)
{
    /* RM0008 23.5.2 DADDR.EF: "If this bit is at '0' no transactions are
     * handled, irrespective of the settings of USB_EPnR registers"; EA:
     * "the 4-bit address used to identify the transactions directed to
     * this endpoint". */
    setup_dev();
    CHECK_EQ(usb_dev_setup(m, 5, setup_pkt), USB_HS_NONE);
    fw_reg_write(USB_DADDR, USB_DADDR_EF | 5);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE);
    CHECK_EQ(usb_dev_setup(m, 5, setup_pkt), USB_HS_ACK);
    fw_reg_write(USB_DADDR, 5);
    fw_clear_ctr(0, USB_EP_CTR_RX);
    CHECK_EQ(usb_dev_setup(m, 5, setup_pkt), USB_HS_NONE);
    fw_reg_write(USB_DADDR, USB_DADDR_EF | 5);
    /* EP4R answers endpoint 2 */
    fw_bd_write(4, 2, 0x180);
    fw_bd_write(4, 3, 4 << 10);
    fw_ep_write(4, USB_EP_CTR_RX | USB_EP_CTR_TX | USB_EP_TYPE_BULK | 2);
    fw_set_stat(4, USB_STAT_VALID, -1);
    uint8_t d[2] = {1, 2};
    CHECK_EQ(usb_dev_out(m, 5, 2, d, 2, 0), USB_HS_ACK);
    CHECK(ep(4) & USB_EP_CTR_RX, "EP4R got the OUT to endpoint 2");
    CHECK_EQ(usb_dev_out(m, 5, 3, d, 2, 0), USB_HS_NONE);
}

TEST(bus_reset_clears_endpoints_keeps_ctr)
{
    /* RM0008 23.5.2 EPnR: "They are also reset when an USB reset is received
     * ... except the CTR_RX and CTR_TX bits, which are kept unchanged"; the
     * function must then be enabled again at address 0 (DADDR.EF). */
    setup_dev();
    fw_reg_write(USB_DADDR, USB_DADDR_EF | 9);
    fw_reg_write(USB_CNTR, USB_CNTR_CTRM | USB_CNTR_RESETM);
    usb_dev_setup(m, 9, setup_pkt);
    usb_dev_bus_reset(m);
    CHECK_EQ(ep(0), USB_EP_CTR_RX);
    CHECK_EQ(fw_reg(USB_DADDR), 0);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_RESET, "RESET flag");
    CHECK(fake_irq_level[20], "USB_LP");
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE); /* EF=0 */
}

TEST(sof_and_fnr)
{
    /* RM0008 23.5.2 FNR: FN "the frame number of the last received SOF",
     * LCK "set ... when at least two consecutive SOF packets have been
     * received after the end of an USB reset"; ISTR.SOF per SOF. */
    setup_dev();
    usb_dev_bus_reset(m);
    usb_dev_sof(m);
    uint16_t f = fw_reg(USB_FNR);
    CHECK(!(f & USB_FNR_LCK), "not locked after one SOF");
    usb_dev_sof(m);
    uint16_t g = fw_reg(USB_FNR);
    CHECK(g & USB_FNR_LCK, "locked after two");
    CHECK_EQ((g & 0x7FF), ((f & 0x7FF) + 1) & 0x7FF);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_SOF, "SOF flag");
    fw_reg_write(USB_CNTR, USB_CNTR_SOFM);
    CHECK(fake_irq_level[20], "SOFM raises USB_LP");
    usb_dev_suspend(m);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_SUSP, "SUSP");
    usb_dev_sof(m);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_WKUP, "WKUP on activity after suspend");
}

TEST(clock_off_is_a_violation)
{
    /* RM0008 7.3.8 (RCC_APB1ENR.USBEN) and 7.2.? (USBPRE: the USB clock must
     * be 48 MHz): without it the peripheral neither answers nor is usable. */
    setup_dev();
    fake_clock_on[VB_CLK_USB] = false;
    fw_reg(USB_CNTR);
    CHECK_EQ(fake_violations, 1);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE);
    fake_clock_on[VB_CLK_USB] = true;
    fake_usbclk = 72000000;
    fake_read(USB_PMA_BASE, 2);
    CHECK_EQ(fake_violations, 2);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE);
    fake_usbclk = 48000000;
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_ACK);
}

TEST(byte_register_access_is_a_violation)
{
    /* RM0008 23.5: registers are accessed by half-words or words. */
    setup_dev();
    fake_read(USB_REG_BASE + USB_CNTR, 1);
    CHECK_EQ(fake_violations, 1);
}

TEST(lost_ctr_is_a_violation)
{
    /* RM0008 23.5.2: "Read-modify-write cycles on these registers should be
     * avoided because between the read and the write operations some bits
     * could be set by the hardware and the next write would modify them
     * before the CPU has the time to detect the change." */
    setup_dev();
    uint16_t v = ep(0); /* CTR_RX = 0 */
    usb_dev_setup(m, 0, setup_pkt);
    fw_ep_write(0, v & (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA)); /* writes CTR_RX = 0 */
    CHECK_EQ(fake_violations, 1);
    CHECK(strstr(fake_last_violation, "CTR_RX"), "names the bit: %s", fake_last_violation);
    /* Seen, then cleared: fine. */
    usb_dev_setup(m, 0, setup_pkt);
    v = ep(0);
    fw_ep_write(0, (v & (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA)) | USB_EP_CTR_TX);
    CHECK_EQ(fake_violations, 1);
    /* Writing 0 to a CTR that is 0 is fine too. */
    fw_ep_write(0, v & (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA));
    CHECK_EQ(fake_violations, 1);
}

TEST(model_reset_restores)
{
    /* RM0008 7.1: a system reset puts the peripheral registers back to their
     * reset values. */
    setup_dev();
    usb_dev_setup(m, 0, setup_pkt);
    usb_model_reset(m);
    CHECK_EQ(fw_reg(USB_CNTR), USB_CNTR_FRES | USB_CNTR_PDWN);
    CHECK_EQ(ep(0), 0);
    CHECK_EQ(fw_reg(USB_DADDR), 0);
    CHECK(!fake_irq_level[20], "interrupt line low");
}

TEST(buffer_past_pma_is_a_violation)
{
    /* RM0008 23.5.3: packet buffers are in the 512-byte packet memory; a
     * descriptor that makes the peripheral run past it is a firmware bug. */
    setup_dev();
    fw_bd_write(0, 2, 0x1F8);
    uint8_t d[16] = {0};
    usb_dev_out(m, 0, 0, d, 16, 0);
    CHECK_EQ(fake_violations, 1);
    CHECK(strstr(fake_last_violation, "RM0008 23.5.3"), "cites: %s", fake_last_violation);
}

TEST(clearing_stale_ctr_after_reset_is_fine)
{
    /* RM0008 23.5.2: CTR bits survive a USB reset "to avoid missing a
     * correct packet notification immediately followed by an USB reset
     * event"; setting the endpoint up again afterwards may clear them. */
    setup_dev();
    usb_dev_setup(m, 0, setup_pkt);
    usb_dev_bus_reset(m);
    fw_ep_write(0, USB_EP_TYPE_CONTROL);
    CHECK_EQ(fake_violations, 0);
    CHECK(!(ep(0) & USB_EP_CTR_RX), "cleared");
}

TEST(reset_keeps_ctr_and_configuration_registers)
{
    /* RM0008 23.5.2 ISTR.RESET: "All configuration registers do not reset
     * ... The function address and endpoint registers are reset by an USB
     * reset event"; EPnR: reset "except the CTR_RX and CTR_TX bits, which
     * are kept unchanged". So after a bus reset: every EPnR bit but CTR_RX
     * and CTR_TX is 0, DADDR is 0, and CNTR, BTABLE and the other ISTR
     * flags are as the firmware left them. */
    setup_dev();
    fw_reg_write(USB_BTABLE, 0x0040);
    fw_reg_write(USB_CNTR, USB_CNTR_CTRM | USB_CNTR_RESETM | USB_CNTR_SOFM);
    fw_ep_write(1, USB_EP_TYPE_INTERRUPT | USB_EP_KIND | 3 | USB_EP_DTOG_RX | USB_EP_DTOG_TX |
                       USB_EP_STAT_RX | USB_EP_STAT_TX);
    CHECK(ep(1) != 0, "EP1R set up: 0x%04x", ep(1));
    fw_reg_write(USB_BTABLE, 0);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_ACK); /* CTR_RX on EP0 */
    fw_reg_write(USB_BTABLE, 0x0040);
    usb_dev_sof(m); /* ISTR.SOF */
    usb_dev_bus_reset(m);
    CHECK_EQ(ep(0), USB_EP_CTR_RX);
    CHECK_EQ(ep(1), 0);
    CHECK_EQ(fw_reg(USB_DADDR), 0);
    CHECK_EQ(fw_reg(USB_BTABLE), 0x0040);
    CHECK_EQ(fw_reg(USB_CNTR), USB_CNTR_CTRM | USB_CNTR_RESETM | USB_CNTR_SOFM);
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_SOF, "SOF flag kept: ISTR 0x%04x", fw_reg(USB_ISTR));
    CHECK(fw_reg(USB_ISTR) & USB_ISTR_RESET, "RESET flag");
}

TEST(no_transaction_until_reset_flag_cleared)
{
    /* RM0008 23.5.2 ISTR.RESET: "Reception and transmission are disabled
     * until the RESET bit is cleared." EP0 and DADDR set up again, RESET
     * still pending: no handshake; once cleared: ACK. */
    setup_dev();
    usb_dev_bus_reset(m);
    fw_init_ep0();
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_NONE);
    fw_reg_write(USB_ISTR, (uint16_t)~USB_ISTR_RESET);
    CHECK_EQ(usb_dev_setup(m, 0, setup_pkt), USB_HS_ACK);
}

TEST(in_without_host_ack_is_sent_again)
{
    /* RM0008 23.4.2: DTOG_TX toggles, STAT_TX goes NAK and CTR_TX is set
     * when the host's ACK is received. Lost ACK: nothing changes, and the
     * next IN gets the same packet with the same PID (USB 2.0 8.6.4). */
    setup_dev();
    const uint8_t d[2] = {5, 6};
    fw_pma_write(FW_TX, d, 2);
    fw_bd_write(0, 1, 2);
    fw_set_stat(0, -1, USB_STAT_VALID);
    uint16_t before = ep(0);
    uint8_t b[64];
    size_t len = 0;
    int pid = -1;
    CHECK_EQ(usb_dev_in_acked(m, 0, 0, b, 64, &len, &pid, false), USB_HS_ACK);
    CHECK_EQ(len, 2);
    CHECK_EQ(ep(0), before);
    CHECK(!fake_irq_level[20], "no interrupt without the ACK");
    len = 0;
    int pid2 = -1;
    CHECK_EQ(usb_dev_in(m, 0, 0, b, 64, &len, &pid2), USB_HS_ACK);
    CHECK_EQ(pid2, pid);
    CHECK_EQ(len, 2);
    CHECK(ep(0) & USB_EP_CTR_TX, "CTR_TX after the ACK");
}

int main(void) { return run_tests(); }
