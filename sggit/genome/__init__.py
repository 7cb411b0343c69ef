"""Git storage of the genome: alleles as blobs, lineage notes, phenotype maps, fitness."""
