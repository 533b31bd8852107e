# Load the unmodified frontend; with no backend answering its first command
# it blocks (dom0 checks the handshake and destroys us).
info "loading xen-tpmfront"
load_tpmfront &
sleep 600
