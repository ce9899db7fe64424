/**
 * The address overlay (/address): our address alone on its own line, starting in the
 * first column with nothing before or after it, so a mouse selection or tmux copy-mode
 * takes exactly the address. When the terminal is narrower than the address it cannot
 * stay on one row; the overlay then says so rather than pretend.
 *
 * Display only.
 */
import { Box, Text } from 'ink';

export interface AddressOverlayProps {
  readonly address: string;
  readonly width: number;
  readonly height: number;
}

export function AddressOverlay({ address, width, height }: AddressOverlayProps) {
  const fits = address.length <= width;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold wrap="truncate-end">Your chive address: give it to whoever should reach you.</Text>
      <Text> </Text>
      <Text wrap="wrap">{address}</Text>
      <Text> </Text>
      {fits ? (
        <Text dimColor wrap="wrap">Select the line above to copy it (tmux: prefix [ then space … enter). Esc closes.</Text>
      ) : (
        <Text color="yellow" wrap="wrap">
          {`The terminal is ${width} columns, the address ${address.length}: widen it to copy the address in one piece. Esc closes.`}
        </Text>
      )}
    </Box>
  );
}
