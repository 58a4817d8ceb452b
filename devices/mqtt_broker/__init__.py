"""The hall's Mosquitto broker for Wi-Fi keypads: files, certificates and its process."""
