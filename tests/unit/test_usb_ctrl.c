/* The endpoint 0 pipeline and the standard requests: descriptors, wLength
 * handling, STALL for anything unsupported, SET_ADDRESS timing. */
#include "config.h"
#include "dfu.h"
#include "dfu_defs.h"
#include "layout.h"
#include "sim.h"
#include "testing.h"

static uint8_t buf[1100];

static int get_desc(uint8_t type, uint8_t index, uint16_t len)
{
    memset(buf, 0xEE, sizeof buf);
    return sim_ctrl_in(0x80, 6, (uint16_t)(type << 8 | index), type == 3 && index ? 0x0409 : 0,
                       len, buf);
}

static void fresh(void)
{
    sim_init(128, 0x08002000);
}

TEST(device_descriptor)
{
    fresh();
    CHECK_EQ(get_desc(1, 0, 255), 18);
    CHECK_EQ(buf[0], 18);
    CHECK_EQ(buf[1], 1);
    CHECK_EQ(buf[2] | buf[3] << 8, 0x0210);
    CHECK_EQ(buf[7], 64);
    CHECK_EQ(buf[8] | buf[9] << 8, 0x0483);
    CHECK_EQ(buf[10] | buf[11] << 8, 0xDF11);
    CHECK_EQ(buf[16], 3); /* iSerialNumber */
    CHECK_EQ(buf[17], 1);
    CHECK(sim_error == 0, "%s", sim_error);
}

TEST(configuration_descriptor_has_dfuse_functional_descriptor)
{
    fresh();
    CHECK_EQ(get_desc(2, 0, 9), 9); /* the host first asks for 9 bytes */
    CHECK_EQ(buf[9], 0xEE);
    CHECK_EQ(buf[2] | buf[3] << 8, 27);
    CHECK_EQ(get_desc(2, 0, 255), 27);
    const uint8_t *intf = buf + 9, *func = buf + 18;
    CHECK_EQ(intf[5], 0xFE);
    CHECK_EQ(intf[6], 1);
    CHECK_EQ(intf[7], 2);
    CHECK_EQ(intf[8], 4);
    CHECK_EQ(func[0], 9);
    CHECK_EQ(func[1], 0x21);
    CHECK_EQ(func[2], 0x0B); /* download, upload, will detach */
    CHECK_EQ(func[5] | func[6] << 8, 1024); /* wTransferSize: the 1 KiB page */
    CHECK_EQ(func[7] | func[8] << 8, 0x011A);
    CHECK_EQ(get_desc(2, 1, 255), SIM_STALL);
}

/* Issue 10 item 3: one block per page. RM0008 3.3.3: high-density parts
 * have "256 pages of 2 Kbytes" (medium density: 1 Kbyte pages), so an
 * F103RC (F_SIZE 256) announces wTransferSize 2048 and takes 2048-byte
 * blocks, a 2049-byte one is refused. */
TEST(transfer_size_is_the_page_size)
{
    sim_init(256, 0x08002000);
    CHECK_EQ(get_desc(2, 0, 255), 27);
    CHECK_EQ(buf[18 + 5] | buf[18 + 6] << 8, 2048);
    static uint8_t block[2049];
    for (unsigned i = 0; i < sizeof block; i++)
        block[i] = (uint8_t)(i * 5 + 1);
    CHECK_EQ(dfuse_run(0x41, 0x08002800, true), 0);
    CHECK_EQ(dfuse_run(0x21, 0x08002800, true), 0);
    CHECK_EQ(dfu_block_run(2, block, 2048), 0);
    CHECK(memcmp(sim.flash + 0x2800, block, 2048) == 0, "2048-byte block not written");
    CHECK_EQ(dfu_dnload(3, block, 2049), SIM_STALL);
}

static void ascii_of(const uint8_t *d, char *out)
{
    unsigned n = (d[0] - 2u) / 2u;
    for (unsigned i = 0; i < n; i++) {
        CHECK_EQ(d[3 + 2 * i], 0);
        out[i] = (char)d[2 + 2 * i];
    }
    out[n] = 0;
}

TEST(string_descriptors)
{
    char s[128];
    fresh();
    CHECK_EQ(get_desc(3, 0, 255), 4);
    CHECK_EQ(buf[2] | buf[3] << 8, 0x0409);
    CHECK(get_desc(3, 1, 255) > 2, "manufacturer");
    CHECK(get_desc(3, 2, 255) > 2, "product");
    CHECK_EQ(get_desc(3, 3, 255), 50);
    ascii_of(buf, s);
    CHECK(strcmp(s, "0A192837465564738291A0AF") == 0, "serial %s", s);
    int n = get_desc(3, 4, 255);
    ascii_of(buf, s);
    CHECK_EQ(n, 2 + 2 * (int)strlen(s));
    CHECK(strcmp(s, "@Internal Flash  /0x08000000/8*001Ka,120*001Kg") == 0, "layout %s", s);
    CHECK_EQ(get_desc(3, 5, 255), SIM_STALL);
    CHECK_EQ(get_desc(3, 0xEE, 255), SIM_STALL);
}

TEST(serial_is_the_unique_id_in_address_order)
{
    char s[128];
    fresh();
    static const uint8_t uid[12] = {0xFF, 0x00, 0x12, 0xAB, 0xCD, 0xEF, 1, 2, 3, 4, 5, 0x99};
    memcpy(sim.uid, uid, 12);
    get_desc(3, 3, 255);
    ascii_of(buf, s);
    CHECK(strcmp(s, "FF0012ABCDEF010203040599") == 0, "serial %s", s);
}

TEST(short_wlength_truncates_never_overruns)
{
    fresh();
    CHECK_EQ(get_desc(3, 4, 2), 2);
    CHECK_EQ(buf[2], 0xEE);
    CHECK_EQ(get_desc(1, 0, 1), 1);
    CHECK_EQ(buf[1], 0xEE);
    CHECK_EQ(get_desc(3, 4, 64), 64); /* exactly one packet */
    CHECK_EQ(buf[64], 0xEE);
    CHECK(sim_error == 0, "%s", sim_error);
}

TEST(zero_wlength_get_has_only_a_status_stage)
{
    fresh();
    CHECK_EQ(get_desc(1, 0, 0), 0);
    CHECK_EQ(buf[0], 0xEE);
    CHECK(sim_error == 0, "%s", sim_error);
}

TEST(bos_and_microsoft_os_20)
{
    fresh();
    int n = get_desc(15, 0, 255);
    CHECK_EQ(n, 5 + 28 + 24);
    CHECK_EQ(buf[2] | buf[3] << 8, n);
    CHECK_EQ(buf[4], 2);
    CHECK_EQ(buf[5 + 1], 16);
    CHECK_EQ(buf[5 + 2], 5); /* platform capability */
    CHECK_EQ(buf[5 + 4], 0xDF);
    uint8_t vendor = buf[5 + 26];
    uint16_t set_len = (uint16_t)(buf[5 + 24] | buf[5 + 25] << 8);
    n = sim_ctrl_in(0xC0, vendor, 0, 7, 255, buf);
    CHECK_EQ(n, set_len);
    CHECK_EQ(buf[8] | buf[9] << 8, set_len);
    CHECK(memcmp(buf + 14, "WINUSB\0\0", 8) == 0, "compatible ID");
    CHECK_EQ(sim_ctrl_in(0xC0, vendor, 0, 8, 255, buf), SIM_STALL);
}

TEST(webusb_landing_page)
{
    fresh();
    get_desc(15, 0, 255);
    const uint8_t *cap = buf + 5 + 28;
    CHECK_EQ(cap[4], 0x38);
    uint8_t vendor = cap[22];
    int n = sim_ctrl_in(0xC0, vendor, 1, 2, 255, buf);
    CHECK_EQ(n, 3 + (int)strlen(CFG_WEBUSB_URL));
    CHECK_EQ(buf[1], 3);
    CHECK_EQ(buf[2], 1);
    CHECK(memcmp(buf + 3, CFG_WEBUSB_URL, strlen(CFG_WEBUSB_URL)) == 0, "URL");
    CHECK_EQ(sim_ctrl_in(0xC0, vendor, 2, 2, 255, buf), SIM_STALL);
}

TEST(set_address_applies_after_status_stage)
{
    fresh();
    CHECK_EQ(sim_ctrl_out(0x00, 5, 42, 0, 0, 0), 0);
    CHECK_EQ(sim_address(), 42);
    CHECK_EQ(sim_ctrl_out(0x00, 5, 200, 0, 0, 0), SIM_STALL);
    CHECK_EQ(sim_address(), 42);
}

TEST(configuration_and_interface)
{
    fresh();
    CHECK_EQ(sim_ctrl_in(0x80, 8, 0, 0, 1, buf), 1);
    CHECK_EQ(buf[0], 0);
    CHECK_EQ(sim_ctrl_out(0x00, 9, 1, 0, 0, 0), 0);
    CHECK_EQ(sim_ctrl_in(0x80, 8, 0, 0, 1, buf), 1);
    CHECK_EQ(buf[0], 1);
    CHECK_EQ(sim_ctrl_out(0x00, 9, 2, 0, 0, 0), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0x81, 10, 0, 0, 1, buf), 1);
    CHECK_EQ(buf[0], 0);
    CHECK_EQ(sim_ctrl_out(0x01, 11, 0, 0, 0, 0), 0);
    CHECK_EQ(sim_ctrl_out(0x01, 11, 1, 0, 0, 0), SIM_STALL);
    CHECK_EQ(sim_ctrl_out(0x01, 11, 0, 1, 0, 0), SIM_STALL);
}

TEST(get_status_and_features)
{
    fresh();
    buf[0] = buf[1] = 0xEE;
    CHECK_EQ(sim_ctrl_in(0x80, 0, 0, 0, 2, buf), 2);
    CHECK_EQ(buf[0] | buf[1] << 8, 0);
    CHECK_EQ(sim_ctrl_out(0x02, 1, 0, 0x80, 0, 0), 0); /* CLEAR_FEATURE(HALT) ep0 */
    CHECK_EQ(sim_ctrl_out(0x00, 3, 1, 0, 0, 0), SIM_STALL); /* remote wakeup */
    CHECK_EQ(sim_ctrl_out(0x00, 3, 2, 0, 0, 0), SIM_STALL); /* test mode */
}

TEST(unsupported_requests_stall_and_the_next_one_works)
{
    fresh();
    CHECK_EQ(get_desc(6, 0, 10), SIM_STALL); /* device qualifier: full speed only */
    CHECK_EQ(sim_ctrl_out(0x00, 7, 0x0100, 0, 0, 0), SIM_STALL); /* SET_DESCRIPTOR */
    CHECK_EQ(sim_ctrl_in(0x82, 12, 0, 0, 2, buf), SIM_STALL); /* SYNCH_FRAME */
    CHECK_EQ(sim_ctrl_in(0x00, 6, 0x0100, 0, 18, buf), SIM_STALL); /* wrong direction */
    CHECK_EQ(sim_ctrl_out(0x80, 5, 3, 0, 0, 0), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0xE0, 0, 0, 0, 2, buf), SIM_STALL); /* reserved type */
    CHECK_EQ(sim_ctrl_in(0xC0, 0x55, 0, 0, 2, buf), SIM_STALL);
    CHECK_EQ(sim_ctrl_out(0x00, 9, 1, 0, 4, (const uint8_t *)"abcd"), SIM_STALL);
    CHECK_EQ(get_desc(1, 0, 18), 18);
}

TEST(dfu_requests_to_another_interface_stall)
{
    fresh();
    CHECK_EQ(sim_ctrl_in(0xA1, DFU_GETSTATUS, 0, 1, 6, buf), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0xA2, DFU_GETSTATUS, 0, 0, 6, buf), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0xA1, DFU_GETSTATUS, 0, 0, 6, buf), 6);
}

TEST(oversized_out_packet_is_clipped_to_wlength)
{
    uint8_t big[64];
    memset(big, 0x41, sizeof big);
    fresh();
    CHECK(sim_setup(0x21, DFU_DNLOAD, 0, 0, 5), "DNLOAD setup stalled");
    CHECK(sim_rx_armed(), "data stage not armed");
    sim_raw_out(big, sizeof big); /* 64 bytes where 5 were announced */
    CHECK(!sim_stalled(), "stalled");
    CHECK_EQ(dfu_state(), dfuDNLOAD_SYNC);
}

TEST(short_packet_before_wlength_stalls)
{
    uint8_t data[10] = {0x41};
    fresh();
    CHECK(sim_setup(0x21, DFU_DNLOAD, 2, 0, 100), "DNLOAD setup stalled");
    sim_raw_out(data, sizeof data);
    CHECK(sim_stalled(), "short data stage accepted");
    CHECK(dfu_state() != dfuDNLOAD_SYNC, "block accepted");
    CHECK_EQ(get_desc(1, 0, 18), 18);
}

TEST(setup_of_wrong_size_stalls)
{
    fresh();
    sim_setup_raw((const uint8_t *)"\x80\x06\x00\x01", 4);
    CHECK(sim_stalled(), "4-byte SETUP accepted");
    CHECK_EQ(get_desc(1, 0, 18), 18);
}

TEST(stray_out_packet_is_ignored)
{
    fresh();
    sim_raw_out((const uint8_t *)"\x80\x06\x00\x01", 4);
    CHECK_EQ(get_desc(1, 0, 18), 18);
}

TEST(zlp_ends_a_reply_on_a_packet_boundary)
{
    uint8_t st[6];
    fresh();
    /* 64 bytes left before the end of flash, 128 asked: 64 + ZLP */
    CHECK_EQ(dfuse_run(0x21, 0x08020000 - 64, true), 0);
    CHECK_EQ(dfu_abort(), 0);
    memset(buf, 0xEE, sizeof buf);
    CHECK_EQ(dfu_upload(2, buf, 128), 64);
    CHECK_EQ(buf[64], 0xEE);
    CHECK(sim_error == 0, "%s", sim_error);
    CHECK_EQ(dfu_getstatus(st), 6);
    CHECK_EQ(st[4], dfuIDLE);
}

/* USB 2.0 9.4.6: "If the specified device address is 0, the device
 * shall enter the Default state" - address 0 must be applied too. */
TEST(set_address_zero_applies_address_zero)
{
    fresh();
    CHECK_EQ(sim_ctrl_out(0x00, 5, 42, 0, 0, 0), 0);
    CHECK_EQ(sim_address(), 42);
    CHECK_EQ(sim_ctrl_out(0x00, 5, 0, 0, 0, 0), 0);
    CHECK_EQ(sim_address(), 0);
}

/* USB 2.0 9.4.7: "If the specified configuration value ... does not match
 * ... the device responds with a Request Error" - and keeps its state. */
TEST(bad_set_configuration_changes_nothing)
{
    fresh();
    CHECK_EQ(sim_ctrl_out(0x00, 9, 1, 0, 0, 0), 0);
    CHECK_EQ(sim_ctrl_out(0x00, 9, 2, 0, 0, 0), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0x80, 8, 0, 0, 1, buf), 1);
    CHECK_EQ(buf[0], 1);
    CHECK_EQ(usbc_configuration(), 1);
}

/* USB 2.0 9.4.5: "If an interface or an endpoint is specified that does
 * not exist, then the device responds with a Request Error." */
TEST(get_status_of_a_missing_endpoint_or_interface_stalls)
{
    fresh();
    CHECK_EQ(sim_ctrl_in(0x82, 0, 0, 0x00, 2, buf), 2); /* endpoint 0 OUT */
    CHECK_EQ(sim_ctrl_in(0x82, 0, 0, 0x80, 2, buf), 2); /* endpoint 0 IN */
    CHECK_EQ(sim_ctrl_in(0x82, 0, 0, 0x81, 2, buf), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0x82, 0, 0, 0x01, 2, buf), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0x81, 0, 0, 0, 2, buf), 2); /* interface 0 */
    CHECK_EQ(sim_ctrl_in(0x81, 0, 0, 1, 2, buf), SIM_STALL);
    CHECK_EQ(sim_ctrl_in(0x80, 0, 0, 0, 2, buf), 2);
}

/* RM0008 23.4.2: a SETUP sets STAT_TX to NAK. An IN completion seen in
 * the same poll belongs to the transfer the SETUP ends: the port does not
 * report it (usb.c), so no further data packet of it is armed, and the
 * core answers the new request from its own first byte. */
TEST(setup_before_a_pending_in_completion)
{
    fresh();
    /* The layout string is 94 bytes: two packets. */
    CHECK(sim_setup(0x80, 6, 0x0304, 0x0409, 255), "GET_DESCRIPTOR stalled");
    CHECK(sim_tx_armed() && sim_tx_len() == 64, "first packet not armed");
    sim_in_taken(); /* the host took it, then sent a new SETUP */
    CHECK_EQ(get_desc(1, 0, 18), 18); /* the new request, whole */
    CHECK_EQ(buf[0], 18);
    CHECK_EQ(buf[1], 1);
    /* A status stage the host completed still applies its address: the
     * SETUP that comes with its completion does (USB 2.0 8.5.3.3). */
    CHECK(sim_setup(0x00, 5, 33, 0, 0), "SET_ADDRESS stalled");
    sim_in_taken();
    CHECK_EQ(sim_address(), 0); /* not before its status stage counts */
    CHECK_EQ(get_desc(1, 0, 18), 18);
    CHECK_EQ(sim_address(), 33);
}

/* A bus reset ends the transfer in flight: its status stage never counts. */
TEST(bus_reset_ends_the_transfer_in_flight)
{
    fresh();
    CHECK(sim_setup(0x00, 5, 33, 0, 0), "SET_ADDRESS stalled");
    sim_bus_reset();
    usbc_on_in(); /* a completion from before the reset, if a port sent one */
    CHECK_EQ(sim_address(), 0);
    CHECK_EQ(get_desc(1, 0, 18), 18);
}

/* ---- Lost handshakes (USB 2.0 8.5.3.3, 8.6.4) ------------------------------
 * When the device's ACK is corrupted the host sends the same packet again
 * with the same data toggle; the peripheral ACKs and drops it only while
 * reception is VALID (left NAK, the host retries until its 5 s timeout).
 * When the host's ACK of the device's status packet is lost, the next
 * SETUP is the only sign that the transfer completed. Found by
 * tests/e2e/noisy.sh (vboard --usb-errors): GETSTATUS failed after the
 * ACK of its status OUT was lost. */

TEST(reception_stays_valid_after_status_out)
{
    fresh();
    CHECK_EQ(get_desc(1, 0, 18), 18);
    CHECK(sim_rx_armed(), "a resent status OUT must be ACKed, not NAKed");
}

TEST(reception_stays_valid_after_last_out_packet)
{
    fresh();
    const uint8_t set_addr[5] = {0x21, 0x00, 0x20, 0x00, 0x08}; /* DfuSe set address */
    CHECK(sim_setup(0x21, DFU_DNLOAD, 0, 0, 5), "DNLOAD accepted");
    sim_raw_out(set_addr, 5);
    CHECK(!sim_stalled(), "data accepted");
    CHECK(sim_rx_armed(), "a resent last data packet must be ACKed, not NAKed");
}

TEST(setup_after_lost_status_ack_completes_set_address)
{
    fresh();
    CHECK(sim_setup(0x00, 5, 7, 0, 0), "SET_ADDRESS accepted");
    CHECK_EQ(sim_address(), 0); /* not before its status stage */
    /* The status IN went out but the host's ACK was lost: no CTR_TX. The
     * host goes on at address 7. */
    CHECK(sim_setup(0x80, 6, 0x100, 0, 18), "next SETUP");
    CHECK_EQ(sim_address(), 7);
}

int main(void)
{
    return run_tests();
}
