"""What genes act on, reached only through gene_sdk: mock and netlink kernels."""
