module gpufleet.local/standin

go 1.26
