# libusb.mk - the USB/IP libusb-1.0 replacement and its tests.
#   build/host/libusb-1.0.so.0      what LD_LIBRARY_PATH=build/host puts in front
#                                   of the system libusb for dfu-util and lsusb
#   build/host/test_libusb          API tests against a fake USB/IP server
#   build/host/test_libusb_tools    the stock dfu-util/lsusb against that server

LIBUSB_SO := $(HOSTDIR)/libusb-1.0.so.0
LIBUSB_SRCS := $(wildcard libusb/*.c)
LIBUSB_HDRS := $(wildcard libusb/*.h)
LIBUSB_FAKE := tests/libusb/fake_usbip.c tests/libusb/fake_usbip.h
LIBUSB_CFLAGS := $(HOST_CFLAGS) -fPIC -fvisibility=hidden -pthread

ALL_TARGETS += $(LIBUSB_SO)
TEST_DEPS += $(LIBUSB_SO) $(HOSTDIR)/test_libusb $(HOSTDIR)/test_libusb_tools
TEST_SUITES += $(HOSTDIR)/test_libusb $(HOSTDIR)/test_libusb_tools

$(LIBUSB_SO): $(LIBUSB_SRCS) $(LIBUSB_HDRS) libusb/libusb.map libusb/libusb.mk
	@mkdir -p $(@D)
	$(HOST_CC) $(LIBUSB_CFLAGS) -shared -Wl,-soname,libusb-1.0.so.0 \
	  -Wl,--version-script=libusb/libusb.map -Wl,-z,defs -o $@ $(LIBUSB_SRCS)

# The API tests link the library sources in, with the sanitizers.
$(HOSTDIR)/test_libusb: tests/libusb/test_libusb.c $(LIBUSB_FAKE) tests/testing.c tests/testing.h \
                        $(LIBUSB_SRCS) $(LIBUSB_HDRS)
	@mkdir -p $(@D)
	$(HOST_CC) $(LIBUSB_CFLAGS) $(SAN_FLAGS) -Itests -Ilibusb -o $@ tests/libusb/test_libusb.c \
	  tests/libusb/fake_usbip.c tests/testing.c $(LIBUSB_SRCS)

# The tools test only runs the Debian binaries against the built .so.
$(HOSTDIR)/test_libusb_tools: tests/libusb/test_tools.c $(LIBUSB_FAKE) tests/testing.c \
                              tests/testing.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -pthread -Itests -o $@ tests/libusb/test_tools.c \
	  tests/libusb/fake_usbip.c tests/testing.c
