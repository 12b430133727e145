# mlv-refnet, the reference trainer (mlv-refnet(1)): its build rules.
# Included by the top Makefile, from the top directory.
#
#   NVCC=/path/nvcc     the CUDA compiler (default: nvcc on $PATH, else
#                       /usr/local/cuda/bin/nvcc); without one, mlv-refnet
#                       is built without its CUDA path
#   NO_CUDA=1           build without the CUDA path even where nvcc is
#   CUDA_ARCHS=...      the GPU architectures given machine code, e.g.
#                       "sm_80 sm_90" (default: those of sm_70 .. sm_90 that
#                       nvcc can build); PTX for the last one is added, so
#                       that newer GPUs compile it when the program starts
#   NVCCFLAGS=...       more flags for nvcc (-allow-unsupported-compiler, -ccbin)

REFNET = mlv-refnet
REFNET_OBJS = cuda/refnet.o cuda/refnet-data.o cuda/refnet-model.o cuda/refnet-cpu.o \
	cuda/refnet-cuda.o
REFNET_FATBIN = cuda/refnet-kernels.fatbin
REFNET_FLAGS_FILE = cuda/.build-flags
REFNET_NVCC_FLAGS_FILE = cuda/.nvcc-flags

ifdef NO_CUDA
NVCC :=
else ifeq ($(origin NVCC),undefined)
NVCC := $(shell command -v nvcc 2>/dev/null || \
	{ test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
endif

# The same arithmetic everywhere: no fused multiply-add on any machine
# (refnet-math.h).
REFNET_CFLAGS = $(ALL_CFLAGS) -ffp-contract=off -Icuda

ifneq ($(NVCC),)
ifndef CUDA_ARCHS
REFNET_NVCC_CODES := $(shell $(NVCC) --list-gpu-code 2>/dev/null)
ifeq ($(REFNET_NVCC_CODES),)
CUDA_ARCHS = sm_70 sm_75 sm_80
else
CUDA_ARCHS := $(filter sm_70 sm_75 sm_80 sm_86 sm_89 sm_90,$(REFNET_NVCC_CODES))
endif
endif
REFNET_PTX = compute_$(patsubst sm_%,%,$(lastword $(CUDA_ARCHS)))
REFNET_GENCODE = $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(patsubst sm_%,%,$(a)),code=$(a)) \
	-gencode arch=$(REFNET_PTX),code=$(REFNET_PTX)
REFNET_CFLAGS += -DREFNET_HAVE_CUDA=1 -DREFNET_FATBIN='"$(REFNET_FATBIN)"' \
	-DREFNET_CUDA_ARCHS='"$(strip $(CUDA_ARCHS) $(REFNET_PTX))"'

$(REFNET_FATBIN): cuda/refnet-kernels.cu cuda/refnet-math.h $(REFNET_NVCC_FLAGS_FILE)
	@echo ' NVCC' $@;
	$(if $(V),,@)$(NVCC) -fatbin -O3 -fmad=false -Icuda $(REFNET_GENCODE) $(NVCCFLAGS) \
		-o $@ cuda/refnet-kernels.cu

cuda/refnet-cuda.o: $(REFNET_FATBIN)
endif

# Rebuild when the flags change (the C flags name the version: the kernels
# have their own file).
$(REFNET_FLAGS_FILE): FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != '$(CC) $(REFNET_CFLAGS)' ]; then \
		echo '$(CC) $(REFNET_CFLAGS)' >$@; fi

$(REFNET_NVCC_FLAGS_FILE): FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != '$(NVCC) $(REFNET_GENCODE) $(NVCCFLAGS)' ]; then \
		echo '$(NVCC) $(REFNET_GENCODE) $(NVCCFLAGS)' >$@; fi

cuda/%.o: cuda/%.c $(REFNET_FLAGS_FILE)
	$(QUIET_CC)$(CC) $(REFNET_CFLAGS) -MMD -MP -c -o $@ $<

$(REFNET): $(REFNET_OBJS)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(REFNET_OBJS) -lm -ldl

# The top Makefile's "all" is read before this file: add to it here.
all: $(REFNET)

clean: clean-refnet
clean-refnet:
	rm -f $(REFNET) cuda/*.[od] $(REFNET_FATBIN) $(REFNET_FLAGS_FILE) $(REFNET_NVCC_FLAGS_FILE)

install: install-refnet
install-refnet: $(REFNET)
	install -d $(DESTDIR)$(bindir)
	install -m 755 $(REFNET) $(DESTDIR)$(bindir)/$(REFNET)

.PHONY: clean-refnet install-refnet

-include $(REFNET_OBJS:.o=.d)
