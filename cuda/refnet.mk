# mlv-refnet, the reference trainer (mlv-refnet(1)): its build rules.
REFNET =
