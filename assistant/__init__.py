"""kasuhara: consultation assistant for customer harassment, grounded in Tokyo's common manual."""
