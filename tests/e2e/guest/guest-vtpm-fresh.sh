# Guest A after vtpmctl destroy + create of its uuid: a fresh TPM.
cd /tmp
step tpmfront-load load_tpmfront
step getrandom tpm2_getrandom 8 --hex
step nv-index-gone sh -c '! tpm2_nvreadpublic 0x1500016'
step persistent-key-gone sh -c '! tpm2_readpublic -c 0x81000001'
