# fuzz.mk - builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan + libFuzzer):
# the library sources below cli/ compiled again with -DES_FUZZ_NO_CRC (readers accept any
# CRC, so mutations reach the decoders), one executable per target. Driven by scripts/fuzz.sh:
#   make -f tests/fuzz/fuzz.mk SRC=<source tree> OUT=<build folder> CONFIG_H_DIR=<configured tree>
SRC ?= .
OUT ?= fuzz-build
CONFIG_H_DIR ?= .
CC = clang
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CPPFLAGS = -I$(CONFIG_H_DIR) -I$(SRC)/sim -I$(SRC)/arch -I$(SRC)/workloads -I$(SRC)/traces \
	-I$(SRC)/tests/fuzz -I/usr/include/x86_64-linux-gnu/openblas-pthread \
	-D_GNU_SOURCE -DES_FUZZ_NO_CRC -DES_SRCDIR='"$(abspath $(SRC))"' -DES_PKGDATADIR='"/nonexistent"'
CFLAGS = -std=c11 -g -O1 -Wno-unknown-pragmas $(SAN)
LIBS = -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -ldnnl -lyaml -lz -lm -lpthread

LIB_SRCS := $(wildcard $(SRC)/sim/*.c $(SRC)/traces/*.c $(SRC)/arch/*.c $(SRC)/workloads/*.c)
LIB_OBJS := $(patsubst $(SRC)/%.c,$(OUT)/obj/%.o,$(LIB_SRCS))
TARGETS := cfg set netdesc trace ckpt npy idx cifar
BINS := $(addprefix $(OUT)/fuzz_,$(TARGETS))

all: $(BINS)

$(OUT)/obj/%.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer-no-link -MMD -c $< -o $@

$(OUT)/libessim-fuzz.a: $(LIB_OBJS)
	rm -f $@ && ar cr $@ $^

$(OUT)/fuzz_%: $(SRC)/tests/fuzz/fuzz_%.c $(SRC)/tests/fuzz/fuzz_common.h $(OUT)/libessim-fuzz.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $< $(OUT)/libessim-fuzz.a $(LIBS) -o $@

-include $(LIB_OBJS:.o=.d)
.PHONY: all
